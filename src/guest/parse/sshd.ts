/**
 * sshd_config(5): `Keyword value` or `Keyword=value` lines, keywords case-insensitive, `#`
 * comments, quoted arguments; `Include` of files and globs (relative to /etc/ssh), read in
 * lexical order where they stand; `Match` blocks, which apply only to connections that match
 * and so are left out of the global values. For each keyword the first value obtained is the
 * one used, except for those that accumulate (Port, ListenAddress, HostKey, AcceptEnv, …).
 * `effective()` gives what `sshd -T` prints for the global configuration, defaults included for
 * the keywords the cloud checks read.
 */

export interface SshdConfig {
  /** Global values by lower-case keyword, in the order obtained. */
  values: Map<string, string[]>;
  /** Where each keyword's first (effective) global value was set. */
  origins: Map<string, { file: string; line: number }>;
  /** Match blocks: their criteria, where they start, and the keywords they set. */
  matches: { criteria: string; file: string; line: number; keywords: string[] }[];
  /** Files read, the main one first. */
  files: string[];
  notes: { file: string; line: number; message: string }[];
}

/** Keywords whose every occurrence counts. */
const ACCUMULATE = new Set(['port', 'listenaddress', 'hostkey', 'acceptenv', 'setenv', 'subsystem', 'hostcertificate', 'allowusers', 'denyusers', 'allowgroups', 'denygroups']);

/** What OpenSSH (8.x/9.x) uses when a keyword is absent, for the keywords the checks read. */
export const SSHD_DEFAULTS: Record<string, string> = {
  port: '22',
  // prohibit-password, which sshd -T prints under its older name.
  permitrootlogin: 'without-password',
  passwordauthentication: 'yes',
  pubkeyauthentication: 'yes',
  permitemptypasswords: 'no',
  kbdinteractiveauthentication: 'yes',
  usedns: 'no',
  usepam: 'no',
  x11forwarding: 'no',
  listenaddress: '0.0.0.0',
  addressfamily: 'any',
  clientaliveinterval: '0',
};

/** How `Include` reaches files: read one, and expand a glob (absolute) to sorted paths. */
export interface IncludeAccess {
  read(path: string): Promise<string | undefined>;
  glob(pattern: string): Promise<string[]>;
}

const MAX_INCLUDE_DEPTH = 16;
/** Files read through Include in all: a file that includes itself twice doubles the work per level. */
const MAX_INCLUDED_FILES = 256;

/** Splits an argument list as sshd does: blanks separate, double quotes group. */
function args(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[1] ?? m[2]!);
  return out;
}

export async function parseSshdConfig(text: string, access: IncludeAccess, path = '/etc/ssh/sshd_config'): Promise<SshdConfig> {
  const config: SshdConfig = { values: new Map(), origins: new Map(), matches: [], files: [path], notes: [] };
  let match: SshdConfig['matches'][number] | undefined;

  const visit = async (body: string, file: string, depth: number): Promise<void> => {
    const lines = body.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (!line || line.startsWith('#')) continue;
      const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
      if (!m) {
        config.notes.push({ file, line: i + 1, message: `"${line}" has no value` });
        continue;
      }
      const keyword = m[1]!.toLowerCase();
      const value = m[2]!.replace(/\s+#.*$/, '').trim();
      if (keyword === 'match') {
        match = { criteria: value, file, line: i + 1, keywords: [] };
        config.matches.push(match);
        continue;
      }
      if (keyword === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH) {
          config.notes.push({ file, line: i + 1, message: `Include nested more than ${MAX_INCLUDE_DEPTH} deep` });
          continue;
        }
        for (const pattern of args(value)) {
          const absolute = pattern.startsWith('/') ? pattern : `/etc/ssh/${pattern}`;
          const paths = /[*?[]/.test(absolute) ? await access.glob(absolute) : [absolute];
          for (const p of paths) {
            if (config.files.length > MAX_INCLUDED_FILES) {
              config.notes.push({ file, line: i + 1, message: `more than ${MAX_INCLUDED_FILES} files included; the rest is not read` });
              return;
            }
            const t = await access.read(p);
            if (t === undefined) {
              if (!/[*?[]/.test(absolute)) config.notes.push({ file, line: i + 1, message: `Include ${p}: not found` });
              continue;
            }
            config.files.push(p);
            await visit(t, p, depth + 1);
          }
        }
        continue;
      }
      if (match) {
        match.keywords.push(keyword);
        continue;
      }
      const list = config.values.get(keyword);
      if (!list) {
        config.values.set(keyword, [value]);
        config.origins.set(keyword, { file, line: i + 1 });
      }
      else if (ACCUMULATE.has(keyword)) list.push(value);
    }
  };
  await visit(text, path, 0);
  return config;
}

/** The global value of a keyword, as `sshd -T` prints it: the first obtained, else the default. */
export function effective(config: SshdConfig, keyword: string): string | undefined {
  const k = keyword.toLowerCase();
  const v = config.values.get(k)?.[0];
  if (v !== undefined) {
    // prohibit-password and without-password are one setting; sshd -T prints without-password.
    if (k === 'permitrootlogin' && v.toLowerCase() === 'prohibit-password') return 'without-password';
    // sshd -T prints keyword-like values in lower case (yes, no, prohibit-password, …).
    return /^(yes|no|prohibit-password|forced-commands-only|any|inet6?|local|remote|all|none)$/i.test(v) ? v.toLowerCase() : v;
  }
  // ChallengeResponseAuthentication is the older name of KbdInteractiveAuthentication.
  if (k === 'kbdinteractiveauthentication' && config.values.has('challengeresponseauthentication')) return config.values.get('challengeresponseauthentication')![0]!.toLowerCase();
  return SSHD_DEFAULTS[k];
}

/** A small glob for Include: `*`, `?` and `[...]` within one path component. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
