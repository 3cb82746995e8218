/**
 * Shell-style assignment files: os-release(5), lsb-release, /etc/sysconfig/*, /etc/default/*.
 * One `KEY=value` per line; `#` comments; values unquoted, or in double quotes (where `\"`,
 * `\\`, `\$` and `` \` `` are escapes) or single quotes (literal); an optional `export`.
 * Nothing is expanded or executed: `$VAR` stays as written.
 */

/** A parsed assignment, with the line it came from (1-based). */
export interface ShellVar {
  value: string;
  line: number;
}

/** What a file of assignments says, and the lines that were not assignments. */
export interface ShellVars {
  vars: Map<string, ShellVar>;
  /** Lines that are neither blank, comments nor `KEY=value` (1-based numbers). */
  unparsed: { line: number; text: string }[];
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** Parses `text`; a later assignment of a key replaces an earlier one, as the shell does. */
export function parseShellVars(text: string): ShellVars {
  const vars = new Map<string, ShellVar>();
  const unparsed: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = ASSIGNMENT.exec(raw);
    const value = m ? unquote(m[2]!) : undefined;
    if (!m || value === undefined) {
      unparsed.push({ line: i + 1, text: raw });
      continue;
    }
    vars.set(m[1]!, { value, line: i + 1 });
  }
  return { vars, unparsed };
}

/** The value of a shell word: quotes removed, escapes applied; undefined if a quote is unclosed. */
export function unquote(word: string): string | undefined {
  let out = '';
  let i = 0;
  const s = word.trim();
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return undefined;
        const d = s[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) {
          out += s[i + 1];
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '\\' && i + 1 < s.length) {
      out += s[i + 1];
      i += 2;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) {
      break; // a comment after the value
    } else if (/\s/.test(c)) {
      // Unquoted whitespace ends the word (the rest would be a command in a shell).
      break;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
