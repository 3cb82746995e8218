/**
 * Boot loader configuration: GRUB 2's grub.cfg (a small script language, evaluated here as far
 * as choosing the default entry needs: `set`, `if`/`elif`/`else` on `[ … ]` tests, `load_env`,
 * `menuentry` and `submenu` blocks, `blscfg`), GRUB 2's environment block (grubenv), Boot Loader
 * Specification entries (/boot/loader/entries/*.conf) and GRUB legacy's menu.lst / grub.conf.
 * The grammar follows GRUB's manual ("Shell-like scripting"); nothing is executed.
 */

/** A boot menu entry. */
export interface BootEntry {
  title: string;
  /** `--id` of a menuentry, or a BLS entry's file name without `.conf`. */
  id?: string;
  /** Titles of the submenus it is in, outermost first. */
  path: string[];
  /** The kernel (`linux`, `linuxefi`, `linux16`, `kernel`) as written, and its arguments. */
  kernel?: string;
  args?: string;
  initrd?: string[];
  /** Filesystem UUID from `search --fs-uuid --set=root`, or the `root`/`set root=` value. */
  rootUuid?: string;
  root?: string;
  /** Where it was read: file and line. */
  source: string;
  line: number;
}

export interface BootConfig {
  entries: BootEntry[];
  /** What `default` was set to (number, title, id or `a>b` path), after evaluation. */
  defaultSetting?: string;
  /** The entry that boots by default, when `defaultSetting` names one. */
  defaultEntry?: BootEntry;
  /** Commands this parser does not know, and other oddities, with their lines. */
  notes: { line: number; message: string }[];
  /** `blscfg` was run: entries also come from /boot/loader/entries. */
  bls: boolean;
}

/** GRUB's environment block: `# GRUB Environment Block` then `key=value` lines, padded with `#`. */
export function parseGrubEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('=')) continue;
    const at = line.indexOf('=');
    env.set(line.slice(0, at), line.slice(at + 1).replace(/\\(.)/g, '$1'));
  }
  return env;
}

interface Word {
  text: string;
  /** Parts that came from quotes or plain text; `$` expansion applies outside single quotes. */
  raw: string;
}

/** One command: its words (unexpanded), its line; `{ … }` blocks as nested lists. */
interface Command {
  words: Word[];
  line: number;
  block?: Command[];
}

/** Splits grub.cfg into commands and blocks. Unbalanced input ends the block it is in. */
function tokenize(text: string): { commands: Command[]; notes: { line: number; message: string }[] } {
  const notes: { line: number; message: string }[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;

  const readWord = (): Word | undefined => {
    let raw = '';
    let started = false;
    while (i < n) {
      const c = text[i]!;
      if (c === '\\' && text[i + 1] === '\n') {
        i += 2;
        line++;
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\n' || c === ';' || ((c === '{' || c === '}') && !started)) break;
      started = true;
      if (c === "'") {
        const end = text.indexOf("'", i + 1);
        const stop = end < 0 ? n : end;
        const inner = text.slice(i + 1, stop);
        line += inner.split('\n').length - 1;
        // Single-quoted text is literal: mark `$` so expansion leaves it.
        raw += inner.replace(/\$/g, '\u0000');
        i = stop + 1;
      } else if (c === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n && '$"\\\n'.includes(text[i + 1]!)) {
            if (text[i + 1] === '\n') line++;
            else raw += text[i + 1] === '$' ? '\u0000' : text[i + 1];
            i += 2;
            continue;
          }
          if (text[i] === '\n') line++;
          raw += text[i];
          i++;
        }
        i++;
      } else if (c === '\\' && i + 1 < n) {
        raw += text[i + 1] === '$' ? '\u0000' : text[i + 1];
        i += 2;
      } else {
        raw += c;
        i++;
      }
    }
    return started ? { text: raw, raw } : undefined;
  };

  const parseBlock = (depth: number): Command[] => {
    const out: Command[] = [];
    let current: Command | undefined;
    const end = () => {
      if (current && current.words.length) out.push(current);
      current = undefined;
    };
    while (i < n) {
      const c = text[i]!;
      if (c === '\n') {
        end();
        line++;
        i++;
      } else if (c === ' ' || c === '\t' || c === '\r') i++;
      else if (c === ';') {
        end();
        i++;
      } else if (c === '#' && !current) {
        while (i < n && text[i] !== '\n') i++;
      } else if (c === '{') {
        i++;
        const opened = line;
        const cmd: Command = current ?? { words: [], line };
        current = undefined;
        cmd.block = parseBlock(depth + 1);
        if (cmd.block === undefined) notes.push({ line: opened, message: 'a block is not closed' });
        out.push(cmd);
      } else if (c === '}') {
        i++;
        end();
        if (depth > 0) return out;
        notes.push({ line, message: 'a "}" closes no block' });
      } else {
        const w = readWord();
        if (!w) {
          i++;
          continue;
        }
        current ??= { words: [], line };
        current.words.push(w);
      }
    }
    end();
    if (depth > 0) notes.push({ line, message: 'the file ends inside a block' });
    return out;
  };
  return { commands: parseBlock(0), notes };
}

/** Commands GRUB has that change nothing this parser tracks. */
const KNOWN = new Set([
  'insmod', 'rmmod', 'export', 'save_env', 'terminal_output', 'terminal_input', 'terminal', 'serial', 'gfxmode', 'loadfont', 'font',
  'echo', 'background_image', 'background_color', 'set_background_image', 'play', 'sleep', 'true', 'false', 'configfile', 'source',
  'normal', 'chainloader', 'boot', 'reboot', 'halt', 'fwsetup', 'recordfail', 'gfxpayload', 'load_video', 'savedefault', 'clear',
  'unset', 'setparams', 'return', 'parttool', 'drivemap', 'ntldr', 'multiboot', 'multiboot2', 'module', 'module2', 'acpi', 'cryptomount',
  'loopback', 'probe', 'regexp', 'tr', 'test', '[', 'eval', 'read', 'keystatus', 'menuentry', 'submenu', 'function', 'if', 'then', 'elif',
  'else', 'fi', 'for', 'while', 'until', 'do', 'done', 'search', 'search.fs_uuid', 'search.fs_label', 'search.file', 'set', 'load_env',
  'blscfg', 'linux', 'linux16', 'linuxefi', 'initrd', 'initrd16', 'initrdefi', 'devicetree', 'fdt', 'xen_hypervisor', 'xen_module',
  'default', 'timeout', 'hiddenmenu', 'title', 'kernel', 'root', 'rootnoverify', 'splashimage', 'password', 'lock', 'fallback', 'makeactive',
  'map', 'terminfo', 'color', 'hidden_timeout', 'timeout_style', 'gettext', 'locale_dir', 'lang', 'smbios', 'tpm2_key_protector_init',
  'stall', 'net_bootp', 'net_dhcp', 'hwmatch', 'outb', 'inb', 'cmp', 'cat', 'ls', 'lsmod', 'videoinfo', 'background', 'gfxmenu', 'splashimage', 'configfile',
]);

/** Expands `$name` and `${name}` with `vars`; unset names expand to nothing. */
function expand(raw: string, vars: ReadonlyMap<string, string>): string {
  return raw
    .replace(/\$\{([A-Za-z0-9_?#@*]+)\}|\$([A-Za-z_][A-Za-z0-9_]*|[0-9?#@*])/g, (_, a: string | undefined, b: string | undefined) => vars.get((a ?? b)!) ?? '')
    .replace(/\u0000/g, '$');
}

/** Evaluates a `[ … ]` / `test` condition; what cannot be known offline is false. */
function test(args: string[], exists: (path: string) => boolean): boolean {
  if (args[0] === '!') return !test(args.slice(1), exists);
  const and = args.indexOf('-a');
  if (and > 0) return test(args.slice(0, and), exists) && test(args.slice(and + 1), exists);
  const or = args.indexOf('-o');
  if (or > 0) return test(args.slice(0, or), exists) || test(args.slice(or + 1), exists);
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    const [op, v] = args as [string, string];
    if (op === '-n') return v !== '';
    if (op === '-z') return v === '';
    if (op === '-s' || op === '-f' || op === '-e' || op === '-d') return exists(v);
    return false;
  }
  const [a, op, b] = args as [string, string, string];
  switch (op) {
    case '=':
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '-eq':
      return Number(a) === Number(b);
    case '-ne':
      return Number(a) !== Number(b);
    case '-lt':
      return Number(a) < Number(b);
    case '-gt':
      return Number(a) > Number(b);
    default:
      return false;
  }
}

export interface GrubOptions {
  /** The environment block's variables (`load_env` loads them). */
  env?: ReadonlyMap<string, string>;
  /** Whether a file exists, for `[ -s $prefix/grubenv ]`-style tests. */
  exists?: (path: string) => boolean;
  /** The file's name, for `BootEntry.source`. */
  source?: string;
  /** GRUB's `$prefix`: the folder grub.cfg is in, as the guest sees it. Default `/boot/grub`. */
  prefix?: string;
  /** Bounds the work on a hostile file. */
  maxCommands?: number;
}

/**
 * Evaluates a GRUB 2 grub.cfg: its entries (in menu order, submenus flattened with their path)
 * and the default, resolved as GRUB resolves `default`: a number (top-level position, or
 * `a>b` through submenus), an entry's title or `--id`, or `saved` / `${saved_entry}`.
 */
export function parseGrubCfg(text: string, options: GrubOptions = {}): BootConfig {
  const { commands, notes } = tokenize(text);
  // What GRUB 2 itself sets before reading grub.cfg (grub-mkconfig's output tests these).
  const vars = new Map<string, string>([
    ['feature_menuentry_id', 'y'],
    ['feature_default_font_path', 'y'],
    ['feature_all_video_module', 'y'],
    ['feature_platform_search_hint', 'y'],
    ['feature_timeout_style', 'y'],
    ['feature_200_final', 'y'],
    ['feature_nativedisk_cmd', 'y'],
    ['prefix', options.prefix ?? '/boot/grub'],
  ]);
  const env = options.env ?? new Map<string, string>();
  const exists = options.exists ?? (() => false);
  const source = options.source ?? 'grub.cfg';
  const entries: BootEntry[] = [];
  /** The menu tree: top-level items, each an entry or a submenu with items. */
  type Item = { kind: 'entry'; entry: BootEntry } | { kind: 'submenu'; title: string; id?: string; items: Item[] };
  const top: Item[] = [];
  let bls = false;
  let budget = options.maxCommands ?? 100_000;

  const words = (c: Command) => c.words.map((w) => expand(w.raw, vars));

  const run = (list: Command[], items: Item[], path: string[], entry: BootEntry | undefined): void => {
    let k = 0;
    while (k < list.length) {
      if (--budget < 0) return;
      const c = list[k]!;
      const w = words(c);
      const name = w[0]!;
      if (name === 'if') {
        // if COND; then …; [elif COND; then …;] [else …;] fi — commands until the matching fi.
        const branches: { cond?: string[]; body: Command[] }[] = [];
        let current: { cond?: string[]; body: Command[] } = { cond: w.slice(1), body: [] };
        let depth = 0;
        let j = k + 1;
        for (; j < list.length; j++) {
          const cw = list[j]!.words.map((x) => x.text);
          const head = cw[0];
          if (head === 'if') depth++;
          if (head === 'fi') {
            if (depth === 0) break;
            depth--;
          }
          if (depth === 0 && head === 'then') {
            if (cw.length > 1) current.body.push({ ...list[j]!, words: list[j]!.words.slice(1) });
            continue;
          }
          if (depth === 0 && head === 'elif') {
            branches.push(current);
            current = { cond: list[j]!.words.slice(1).map((x) => expand(x.raw, vars)), body: [] };
            continue;
          }
          if (depth === 0 && head === 'else') {
            branches.push(current);
            current = { body: [] };
            if (cw.length > 1) current.body.push({ ...list[j]!, words: list[j]!.words.slice(1) });
            continue;
          }
          current.body.push(list[j]!);
        }
        branches.push(current);
        if (j >= list.length) notes.push({ line: c.line, message: '"if" without "fi"' });
        for (const b of branches) {
          if (b.cond === undefined || evalCond(b.cond)) {
            run(b.body, items, path, entry);
            break;
          }
        }
        k = j + 1;
        continue;
      }
      k++;
      if (name === 'function') continue;
      if (name === 'set' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(name)) {
        const assignment = name === 'set' ? w[1] : name;
        if (assignment?.includes('=')) {
          const at = assignment.indexOf('=');
          vars.set(assignment.slice(0, at), assignment.slice(at + 1));
          if (entry && assignment.startsWith('root=')) entry.root = assignment.slice(5);
        }
        continue;
      }
      if (name === 'load_env') {
        // load_env [-f file] [--skip-sig] [names…]: only the named variables, if any are named.
        const named = w.slice(1).filter((x, i, a) => !x.startsWith('-') && a[i - 1] !== '-f' && a[i - 1] !== '--file');
        for (const [key, value] of env) if (named.length === 0 || named.includes(key)) vars.set(key, value);
        continue;
      }
      if (name === 'blscfg') {
        bls = true;
        continue;
      }
      if (name === 'menuentry' || name === 'submenu') {
        const { title, id } = menuArgs(w.slice(1));
        if (!c.block) {
          notes.push({ line: c.line, message: `${name} without a block` });
          continue;
        }
        if (name === 'menuentry') {
          const e: BootEntry = { title, path, source, line: c.line };
          if (id) e.id = id;
          // The entry's commands run when it boots, with the variables as they are now.
          const saved = new Map(vars);
          run(c.block, [], path, e);
          vars.clear();
          for (const [key, value] of saved) vars.set(key, value);
          entries.push(e);
          items.push({ kind: 'entry', entry: e });
        } else {
          const sub: Item = { kind: 'submenu', title, items: [] };
          if (id) sub.id = id;
          items.push(sub);
          run(c.block, sub.items, [...path, title], undefined);
        }
        continue;
      }
      if (entry && (name === 'linux' || name === 'linux16' || name === 'linuxefi' || name === 'kernel')) {
        const args = w.slice(1).filter((x) => !x.startsWith('--'));
        if (args[0]) entry.kernel = args[0];
        entry.args = args.slice(1).join(' ');
        continue;
      }
      if (entry && (name === 'initrd' || name === 'initrd16' || name === 'initrdefi')) {
        entry.initrd = w.slice(1).filter((x) => !x.startsWith('--'));
        continue;
      }
      if (name === 'search' || name === 'search.fs_uuid') {
        const fsUuid = name === 'search.fs_uuid' || w.includes('--fs-uuid') || w.includes('-u');
        const setAt = w.findIndex((x) => x.startsWith('--set'));
        const target = setAt >= 0 ? (w[setAt]!.includes('=') ? w[setAt]!.slice(6) : 'root') : name === 'search.fs_uuid' ? (w[2] ?? 'root') : undefined;
        const value = w.slice(1).filter((x, i, a) => !x.startsWith('-') && !(a[i - 1] === '--set' || a[i - 1] === '-s'))[0];
        if (fsUuid && value && (target === 'root' || target === undefined)) {
          vars.set('root', `uuid:${value}`);
          if (entry) entry.rootUuid = value;
        }
        continue;
      }
      if (!KNOWN.has(name) && !(c.block && w.length === 0)) notes.push({ line: c.line, message: `unknown command "${name}"` });
    }
  };

  const evalCond = (cond: string[]): boolean => {
    // `[ … ]` or `test …`, possibly `! [ … ]`; a trailing `then` belongs to the if.
    let args = cond.filter((x) => x !== 'then');
    let negate = false;
    if (args[0] === '!') {
      negate = true;
      args = args.slice(1);
    }
    if (args[0] === '[') args = args.slice(1, args[args.length - 1] === ']' ? -1 : undefined);
    else if (args[0] === 'test') args = args.slice(1);
    else return negate; // a command's exit status: unknown offline
    return test(args, exists) !== negate;
  };

  run(commands, top, [], undefined);
  if (budget < 0) notes.push({ line: 0, message: 'stopped after too many commands' });

  const config: BootConfig = { entries, notes, bls };
  let setting = vars.get('default');
  if (setting === 'saved') setting = env.get('saved_entry');
  if (setting !== undefined) {
    config.defaultSetting = setting;
    const found = pickDefault(top, setting);
    if (found) config.defaultEntry = found;
  } else if (top.length) {
    const first = firstEntry(top);
    if (first) config.defaultEntry = first;
  }
  return config;

  function firstEntry(items: Item[]): BootEntry | undefined {
    const item = items[0];
    return item?.kind === 'entry' ? item.entry : undefined;
  }
}

function menuArgs(args: string[]): { title: string; id?: string } {
  let title = '';
  let id: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--id' || a === '--class' || a === '--users' || a === '--hotkey') {
      if (a === '--id') id = args[i + 1];
      i++;
    } else if (a.startsWith('--id=')) id = a.slice(5);
    else if (a.startsWith('--') || a === '') continue;
    else if (!title) title = a;
  }
  return id === undefined ? { title } : { title, id };
}

type MenuItem = { kind: 'entry'; entry: BootEntry } | { kind: 'submenu'; title: string; id?: string; items: MenuItem[] };

/** GRUB's rule: each `>`-separated part is a number, a title or an id, at its level. */
function pickDefault(items: MenuItem[], setting: string): BootEntry | undefined {
  let level = items;
  const parts = setting.split('>');
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!.trim();
    const item = /^\d+$/.test(part)
      ? level[Number(part)]
      : level.find((it) => (it.kind === 'entry' ? it.entry.title === part || it.entry.id === part : it.title === part || it.id === part));
    if (!item) return undefined;
    if (item.kind === 'entry') return p === parts.length - 1 ? item.entry : undefined;
    level = item.items;
    // A submenu named last: GRUB boots its first entry.
    if (p === parts.length - 1) return level[0]?.kind === 'entry' ? level[0].entry : undefined;
  }
  return undefined;
}

/** A Boot Loader Specification entry (/boot/loader/entries/NAME.conf). */
export function parseBlsEntry(text: string, name: string, env: ReadonlyMap<string, string> = new Map()): BootEntry {
  const entry: BootEntry = { title: name, id: name, path: [], source: `/boot/loader/entries/${name}.conf`, line: 1 };
  const initrd: string[] = [];
  const options: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'title') entry.title = value;
    else if (key === 'linux') entry.kernel = value;
    else if (key === 'initrd') initrd.push(...value.split(/\s+/));
    else if (key === 'options') options.push(value);
  }
  if (initrd.length) entry.initrd = initrd;
  // grub's blscfg expands $kernelopts and friends from grubenv.
  if (options.length) entry.args = options.join(' ').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, v: string) => env.get(v) ?? '').trim();
  return entry;
}

/** Sorts BLS entries as grub's blscfg does: by version, newest first (then by name). */
export function sortBlsEntries(entries: BootEntry[]): BootEntry[] {
  const key = (e: BootEntry) => e.id ?? e.title;
  return [...entries].sort((a, b) => compareVersions(key(b), key(a)));
}

/** rpm-style version comparison of two strings: digit runs numerically, other runs as text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|[A-Za-z]+/g) ?? [];
  const pb = b.match(/\d+|[A-Za-z]+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d) return d;
    } else if (dx !== dy) return dx ? 1 : -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** GRUB legacy: menu.lst / grub.conf (`default N`, `title`, `root`, `kernel`, `initrd`). */
export function parseMenuLst(text: string, source = '/boot/grub/menu.lst'): BootConfig {
  const entries: BootEntry[] = [];
  const notes: { line: number; message: string }[] = [];
  let defaultSetting: string | undefined;
  let current: BootEntry | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line) ?? [line, line, ''];
    const key = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (key === 'title') {
      current = { title: value, path: [], source, line: i + 1 };
      entries.push(current);
    } else if (key === 'default') defaultSetting = value;
    else if (current && key === 'kernel') {
      const [kernel, ...args] = value.split(/\s+/);
      if (kernel) current.kernel = kernel;
      current.args = args.join(' ');
    } else if (current && key === 'initrd') current.initrd = value.split(/\s+/);
    else if (current && key === 'root') current.root = value;
    else if (!KNOWN.has(key)) notes.push({ line: i + 1, message: `unknown command "${key}"` });
  });
  const config: BootConfig = { entries, notes, bls: false };
  if (defaultSetting !== undefined) config.defaultSetting = defaultSetting;
  const index = defaultSetting === undefined || defaultSetting === 'saved' ? 0 : Number(defaultSetting);
  if (Number.isInteger(index) && entries[index]) config.defaultEntry = entries[index];
  return config;
}
