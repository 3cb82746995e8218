/**
 * .reg export (REGEDIT5 text): a key and everything below it, as regedit and hivexregedit write
 * it — strings and DWORDs as text, every other type as wrapped `hex(t):` bytes. Output goes out
 * in chunks of about 64 K characters, so a 100 MiB hive streams without building its text whole.
 */
import type { RegKey, RegValue } from './hive.js';

/** "00," .. "ff,": a byte's two hex digits and its comma. */
const HEX_COMMA = Array.from({ length: 256 }, (_, b) => `${b.toString(16).padStart(2, '0')},`);
const HEX = HEX_COMMA.map((s) => s.slice(0, 2));
const CHUNK = 64 * 1024;
/** regedit's wrap column: a line of hex is continued with `\` before it passes this. */
const WRAP = 78;

export interface ExportRegOptions {
  /** The name shown for the hive's root (default `ROOT`, as hivexregedit shows a hive file's root). */
  root?: string;
  /** Line ending (default `\r\n`, as regedit writes). */
  newline?: string;
}

function quoted(s: string): string {
  return s.includes('\\') || s.includes('"') ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${s}"`;
}

/** `prefix` followed by the bytes as comma-separated hex, wrapped as regedit wraps them. */
function hexLines(prefix: string, bytes: Uint8Array, nl: string): string {
  const n = bytes.length;
  if (n === 0) return prefix;
  const cont = `\\${nl}  `;
  let out = prefix;
  let column = prefix.length;
  for (let i = 0; i < n - 1; i++) {
    if (column + 3 > WRAP && i > 0) {
      out += cont;
      column = 2;
    }
    out += HEX_COMMA[bytes[i]!]!;
    column += 3;
  }
  if (column + 2 > WRAP && n > 1) out += cont;
  return out + HEX[bytes[n - 1]!]!;
}

/** One value as a .reg line (without its line ending). */
export function regLine(v: RegValue, nl = '\r\n'): string {
  const name = v.name === '' ? '@' : quoted(v.name);
  const b = v.bytes;
  if (v.type === 1 && typeof v.data === 'string' && b.length === (v.data.length + 1) * 2 && b[b.length - 1] === 0 && b[b.length - 2] === 0) return `${name}=${quoted(v.data)}`;
  if (v.type === 4 && b.length === 4 && typeof v.data === 'number') return `${name}=dword:${v.data.toString(16).padStart(8, '0')}`;
  return hexLines(`${name}=${v.type === 3 ? 'hex:' : `hex(${v.type.toString(16)}):`}`, b, nl);
}

/**
 * Writes `key` and every key below it in .reg format, depth first in stored order. Each key is
 * visited once, so a damaged hive whose lists point back up cannot loop.
 */
export function exportReg(key: RegKey, write: (text: string) => void, options: ExportRegOptions = {}): void {
  const root = options.root ?? 'ROOT';
  const nl = options.newline ?? '\r\n';
  let buf = `Windows Registry Editor Version 5.00${nl}`;
  const seen = new Set<number>();
  const stack: RegKey[] = [key];
  while (stack.length) {
    const k = stack.pop()!;
    if (seen.has(k.cell)) continue;
    seen.add(k.cell);
    buf += `${nl}[${k.path === '' ? root : `${root}\\${k.path}`}]${nl}`;
    for (const v of k.values()) buf += regLine(v, nl) + nl;
    if (buf.length >= CHUNK) {
      write(buf);
      buf = '';
    }
    const subs = k.subkeys();
    for (let i = subs.length - 1; i >= 0; i--) stack.push(subs[i]!);
  }
  if (buf) write(buf);
}
