/**
 * Portable Executable headers, as much as inspection needs: the machine a binary is built for,
 * and its version resource (VS_VERSIONINFO: the fixed file and product versions, and the
 * strings of its first string table — CompanyName, FileDescription, FileVersion, …).
 * Reference: Microsoft's "PE Format" and the VERSIONINFO resource documentation. Every offset is
 * checked against the bytes given; a file that is not PE, or whose tables point outside it,
 * gives `undefined` fields rather than an exception.
 */

/** COFF machine types by number, named as inspection names architectures. */
const MACHINES: Record<number, string> = {
  0x014c: 'i386',
  0x8664: 'x86_64',
  0xaa64: 'aarch64',
  0x01c4: 'armv7',
  0x01c0: 'arm',
  0x0200: 'ia64',
};

export interface PeVersion {
  /** `10.0.17763.1` from the fixed file info's file version. */
  fileVersion: string;
  productVersion: string;
  /** The first string table's strings (CompanyName, FileDescription, FileVersion, ProductName, …). */
  strings: Record<string, string>;
}

export interface PeInfo {
  /** The COFF machine field. */
  machine: number;
  /** Its name (`x86_64`), or `unknown`. */
  arch: string;
  /** 0x10b (PE32) or 0x20b (PE32+). */
  magic: number;
  /** The version resource, if the file has one that could be read. */
  version?: PeVersion;
}

const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** The PE headers and version resource of `b` (a whole file, or at least its headers); undefined if not PE. */
export function readPe(b: Uint8Array): PeInfo | undefined {
  if (b.length < 0x40 || b[0] !== 0x4d || b[1] !== 0x5a) return undefined;
  const pe = u32(b, 0x3c);
  if (pe + 24 > b.length || b[pe] !== 0x50 || b[pe + 1] !== 0x45 || b[pe + 2] !== 0 || b[pe + 3] !== 0) return undefined;
  const machine = u16(b, pe + 4);
  const sections = u16(b, pe + 6);
  const optSize = u16(b, pe + 20);
  const opt = pe + 24;
  const info: PeInfo = { machine, arch: MACHINES[machine] ?? 'unknown', magic: opt + 2 <= b.length ? u16(b, opt) : 0 };
  const dirs = info.magic === 0x20b ? opt + 112 : info.magic === 0x10b ? opt + 96 : -1;
  const count = info.magic === 0x20b ? opt + 108 : opt + 92;
  if (dirs < 0 || count + 4 > b.length || u32(b, count) < 3 || dirs + 24 > b.length || dirs + 24 > opt + optSize) return info;
  const rsrcRva = u32(b, dirs + 16);
  if (rsrcRva === 0) return info;
  const table = opt + optSize;
  const toOffset = (rva: number): number | undefined => {
    for (let i = 0; i < sections && table + (i + 1) * 40 <= b.length; i++) {
      const s = table + i * 40;
      const va = u32(b, s + 12);
      const size = Math.max(u32(b, s + 8), u32(b, s + 16));
      if (rva >= va && rva < va + size) {
        const off = u32(b, s + 20) + (rva - va);
        return off < b.length ? off : undefined;
      }
    }
    return undefined;
  };
  const root = toOffset(rsrcRva);
  if (root === undefined) return info;
  const version = versionResource(b, root, toOffset);
  if (version) info.version = version;
  return info;
}

/** The first entry of a resource directory (optionally the one with `id`): its offset, and whether it is a directory. */
function entry(b: Uint8Array, root: number, dir: number, id?: number): { at: number; isDir: boolean } | undefined {
  if (dir + 16 > b.length) return undefined;
  const n = u16(b, dir + 12) + u16(b, dir + 14);
  for (let i = 0; i < n && i < 4096; i++) {
    const e = dir + 16 + i * 8;
    if (e + 8 > b.length) return undefined;
    const name = u32(b, e);
    if (id !== undefined && (name & 0x80000000 || name !== id)) continue;
    const to = u32(b, e + 4);
    return { at: root + (to & 0x7fffffff), isDir: (to & 0x80000000) !== 0 };
  }
  return undefined;
}

const RT_VERSION = 16;

function versionResource(b: Uint8Array, root: number, toOffset: (rva: number) => number | undefined): PeVersion | undefined {
  // Three levels: type (RT_VERSION), name, language; then a data entry (RVA, size).
  const type = entry(b, root, root, RT_VERSION);
  if (!type?.isDir) return undefined;
  const name = entry(b, root, type.at);
  if (!name?.isDir) return undefined;
  const lang = entry(b, root, name.at);
  if (!lang || lang.isDir || lang.at + 8 > b.length) return undefined;
  const at = toOffset(u32(b, lang.at));
  const size = u32(b, lang.at + 4);
  if (at === undefined || size < 6) return undefined;
  return parseVersionInfo(b.subarray(at, Math.min(b.length, at + size)));
}

interface Block {
  key: string;
  /** Offset of the value, and its length in bytes. */
  value: number;
  valueLength: number;
  /** Whether the value is text (wType 1). */
  text: boolean;
  children: number;
  end: number;
}

/** One version block at `at`: wLength, wValueLength, wType, the key, the value, the children. */
function block(b: Uint8Array, at: number, limit: number): Block | undefined {
  if (at + 6 > limit) return undefined;
  const length = u16(b, at);
  const valueLength = u16(b, at + 2);
  const text = u16(b, at + 4) === 1;
  const end = Math.min(limit, at + length);
  if (length < 6) return undefined;
  let key = '';
  let p = at + 6;
  for (; p + 1 < end; p += 2) {
    const c = u16(b, p);
    if (c === 0) break;
    key += String.fromCharCode(c);
  }
  p = (p + 2 + 3) & ~3;
  const bytes = text ? valueLength * 2 : valueLength;
  const value = p;
  const children = (value + bytes + 3) & ~3;
  return { key, value, valueLength: Math.min(bytes, Math.max(0, end - value)), text, children, end };
}

function utf16z(b: Uint8Array, at: number, bytes: number): string {
  let s = '';
  for (let i = 0; i + 1 < bytes; i += 2) {
    const c = u16(b, at + i);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

const dotted = (ms: number, ls: number) => `${ms >>> 16}.${ms & 0xffff}.${ls >>> 16}.${ls & 0xffff}`;

/** VS_VERSIONINFO: the fixed file info and the first string table's strings. */
export function parseVersionInfo(b: Uint8Array): PeVersion | undefined {
  const top = block(b, 0, b.length);
  if (!top || top.key !== 'VS_VERSION_INFO' || top.valueLength < 52 || u32(b, top.value) !== 0xfeef04bd) return undefined;
  const f = top.value;
  const out: PeVersion = { fileVersion: dotted(u32(b, f + 8), u32(b, f + 12)), productVersion: dotted(u32(b, f + 16), u32(b, f + 20)), strings: {} };
  for (let at = top.children; at < top.end; ) {
    const child = block(b, at, top.end);
    if (!child) break;
    if (child.key === 'StringFileInfo') {
      const tableBlock = block(b, child.children, child.end);
      if (tableBlock) {
        for (let s = tableBlock.children; s < tableBlock.end; ) {
          const str = block(b, s, tableBlock.end);
          if (!str) break;
          out.strings[str.key] = utf16z(b, str.value, str.valueLength);
          s = (str.end + 3) & ~3; // past `s`: a block is at least 6 bytes
        }
      }
    }
    const next = (child.end + 3) & ~3;
    if (next <= at) break;
    at = next;
  }
  return out;
}
