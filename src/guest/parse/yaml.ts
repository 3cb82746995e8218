/**
 * The subset of YAML that configuration files use (netplan, cloud-init's cloud.cfg): block
 * mappings and sequences by indentation, flow sequences and mappings on one line, single- and
 * double-quoted and plain scalars, `|` and `>` block scalars, comments, and the first document
 * of a stream. Anchors, aliases, tags and complex keys are not interpreted (an alias stays the
 * text `*name`). Scalars: `true`/`false` (and YAML 1.1's yes/no/on/off, as netplan's and
 * cloud-init's loaders accept) are booleans, integers are numbers, `null`/`~`/empty is null,
 * anything else a string. Malformed input gives `YamlError` with the line.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

interface Line {
  indent: number;
  text: string;
  number: number;
}

const MAX_DEPTH = 64;

function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") {
      // A quote only opens a quoted scalar at the start of a value.
      if (i === 0 || /[\s:,[{-]/.test(s[i - 1]!)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i).trimEnd();
  }
  return s.trimEnd();
}

export function scalar(raw: string, line: number): YamlValue {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new YamlError('unclosed double quote', line);
    return s.slice(1, -1).replace(/\\(["\\/nt0]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})/g, (_, e: string) => {
      if (e === 'n') return '\n';
      if (e === 't') return '\t';
      if (e === '0') return '\0';
      if (e[0] === 'x' || e[0] === 'u') return String.fromCharCode(parseInt(e.slice(1), 16));
      return e;
    });
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new YamlError('unclosed single quote', line);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(s)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(s)) return false;
  // YAML 1.1 integers: decimal, 0-prefixed octal, 0x hexadecimal (as PyYAML reads them).
  if (/^[-+]?0[0-7]+$/.test(s)) return (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[-+]/, ''), 8);
  if (/^[-+]?0x[0-9a-fA-F]+$/.test(s)) return (s.startsWith('-') ? -1 : 1) * parseInt(s.replace(/^[-+]?0x/, ''), 16);
  if (/^[-+]?\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  return s;
}

/** Splits a flow collection's body at top-level commas. */
function splitFlow(body: string, line: number): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) throw new YamlError('unbalanced brackets', line);
  }
  if (depth !== 0 || quote) throw new YamlError('unclosed flow collection', line);
  const last = body.slice(start);
  if (last.trim() !== '' || parts.length > 0) parts.push(last);
  return parts.filter((p, i, a) => p.trim() !== '' || i < a.length - 1);
}

function flow(s: string, line: number, depth: number): YamlValue {
  if (depth > MAX_DEPTH) throw new YamlError('nested too deep', line);
  const t = s.trim();
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlError('unclosed [', line);
    return splitFlow(t.slice(1, -1), line).map((p) => flow(p, line, depth + 1));
  }
  if (t.startsWith('{')) {
    if (!t.endsWith('}')) throw new YamlError('unclosed {', line);
    const out: { [key: string]: YamlValue } = {};
    for (const p of splitFlow(t.slice(1, -1), line)) {
      const at = keyEnd(p);
      if (at < 0) out[String(scalar(p, line))] = null;
      else out[String(scalar(p.slice(0, at), line))] = flow(p.slice(at + 1), line, depth + 1);
    }
    return out;
  }
  return scalar(t, line);
}

/** Where a `key: value` pair's colon is (a colon followed by a blank or the end), or -1. */
function keyEnd(s: string): number {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if ((c === '"' || c === "'") && i === s.search(/\S/)) quote = c;
    else if (c === '[' || c === '{') return -1;
    else if (c === ':' && (i + 1 === s.length || /\s/.test(s[i + 1]!))) return i;
  }
  return -1;
}

/** Parses the first document of `text`. */
export function parseYaml(text: string): YamlValue {
  const lines: Line[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    if (/^(---|\.\.\.)(\s|$)/.test(r)) {
      if (lines.length) break; // the second document
      continue;
    }
    if (/^\s*%/.test(r) && lines.length === 0) continue; // directives
    if (r.includes('\t') && /^\s*\t/.test(r)) throw new YamlError('a tab in indentation', i + 1);
    lines.push({ indent: r.length - r.trimStart().length, text: r.trimStart(), number: i + 1 });
  }
  let pos = 0;

  const skipBlank = () => {
    while (pos < lines.length && stripComment(lines[pos]!.text) === '') pos++;
  };

  const blockScalar = (indicator: string, parentIndent: number): string => {
    const folded = indicator.startsWith('>');
    const keep = indicator.includes('+');
    const strip = indicator.includes('-');
    const body: string[] = [];
    let indent = -1;
    while (pos < lines.length) {
      const l = lines[pos]!;
      if (l.text === '') {
        body.push('');
        pos++;
        continue;
      }
      if (l.indent <= parentIndent) break;
      if (indent < 0) indent = l.indent;
      if (l.indent < indent) break;
      body.push(' '.repeat(l.indent - indent) + l.text);
      pos++;
    }
    let out = folded ? body.join('\n').replace(/([^\n])\n(?=[^\n ])/g, '$1 ') : body.join('\n');
    if (strip) out = out.replace(/\n+$/, '');
    else if (!keep) out = out.replace(/\n*$/, '\n');
    return out;
  };

  /** A value that starts after `key:` or `-` on its line (`rest`), or on the lines below. */
  const valueAfter = (rest: string, indent: number, line: number, depth: number): YamlValue => {
    const r = rest.trim();
    if (r === '') {
      skipBlank();
      const next = lines[pos];
      if (next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')) || (next.indent === indent && next.text === '-'))) return block(next.indent, depth + 1);
      return null;
    }
    if (r === '|' || r === '>' || /^[|>][-+]?\d?$/.test(r)) return blockScalar(r, indent);
    if (r.startsWith('[') || r.startsWith('{')) {
      // A flow collection may continue on the following lines.
      let s = r;
      while (!balanced(s) && pos < lines.length) s += ' ' + stripComment(lines[pos++]!.text);
      return flow(s, line, depth);
    }
    return scalar(r, line);
  };

  const block = (indent: number, depth: number): YamlValue => {
    if (depth > MAX_DEPTH) throw new YamlError('nested too deep', lines[pos]?.number ?? 0);
    skipBlank();
    const first = lines[pos];
    if (!first) return null;
    const isSeq = first.text === '-' || first.text.startsWith('- ');
    if (isSeq) {
      const out: YamlValue[] = [];
      while (pos < lines.length) {
        skipBlank();
        const l = lines[pos];
        if (!l || l.indent !== indent || !(l.text === '-' || l.text.startsWith('- '))) break;
        const rest = stripComment(l.text.slice(1));
        pos++;
        const trimmed = rest.trim();
        if (trimmed !== '' && keyEnd(trimmed) > 0 && !trimmed.startsWith('[') && !trimmed.startsWith('{')) {
          // "- key: value" opens a mapping whose keys sit at the item's indentation.
          const itemIndent = l.indent + (l.text.length - l.text.slice(1).trimStart().length);
          lines[--pos] = { indent: itemIndent, text: l.text.slice(1).trimStart(), number: l.number };
          out.push(block(itemIndent, depth + 1));
        } else out.push(valueAfter(rest, indent, l.number, depth));
      }
      return out;
    }
    const out: { [key: string]: YamlValue } = {};
    while (pos < lines.length) {
      skipBlank();
      const l = lines[pos];
      if (!l || l.indent < indent) break;
      if (l.indent > indent) throw new YamlError('unexpected indentation', l.number);
      const text = stripComment(l.text);
      const at = keyEnd(text);
      if (at <= 0) {
        if (text.startsWith('- ')) break;
        throw new YamlError(`expected "key: value", found "${text.slice(0, 40)}"`, l.number);
      }
      pos++;
      out[String(scalar(text.slice(0, at), l.number))] = valueAfter(text.slice(at + 1), indent, l.number, depth);
    }
    return out;
  };

  skipBlank();
  if (pos >= lines.length) return null;
  const top = lines[pos]!;
  const text0 = stripComment(top.text);
  if (keyEnd(text0) < 0 && !text0.startsWith('- ') && text0 !== '-') {
    pos++;
    return valueAfter(text0, -1, top.number, 0);
  }
  const value = block(top.indent, 0);
  skipBlank();
  if (pos < lines.length) throw new YamlError('unexpected indentation', lines[pos]!.number);
  return value;
}

function balanced(s: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth <= 0;
}
