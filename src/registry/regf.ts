/**
 * The Windows registry hive format (regf): the base block, hive bins and cells, key nodes (nk),
 * values (vk) with their data inline, in a cell or in big-data segments (db), and subkey lists
 * (li, lf, lh, and ri over them). Reference: Maxim Suhanov's "Windows registry file format
 * specification" and Joachim Metz's libregf notes (the layouts; nothing else is taken).
 * Everything here reads an in-memory copy of the hive: bounds are checked against it, and every
 * count against the cell that must hold it.
 */
import { DiskProbeError, ErrorCode, type Where } from '../errors.js';

/** Value types by number, as `reg` and hivex name them. */
export const REG_TYPES: Record<number, string> = {
  0: 'REG_NONE',
  1: 'REG_SZ',
  2: 'REG_EXPAND_SZ',
  3: 'REG_BINARY',
  4: 'REG_DWORD',
  5: 'REG_DWORD_BIG_ENDIAN',
  6: 'REG_LINK',
  7: 'REG_MULTI_SZ',
  8: 'REG_RESOURCE_LIST',
  9: 'REG_FULL_RESOURCE_DESCRIPTOR',
  10: 'REG_RESOURCE_REQUIREMENTS_LIST',
  11: 'REG_QWORD',
};

export const BASE_BLOCK_SIZE = 4096;
/** The most data one big-data segment holds. */
export const DB_SEGMENT = 16344;
/** Key node flags. */
export const NK = { VOLATILE: 0x1, HIVE_EXIT: 0x2, HIVE_ENTRY: 0x4, NO_DELETE: 0x8, SYM_LINK: 0x10, COMP_NAME: 0x20 } as const;

export interface BaseBlock {
  primarySequence: number;
  secondarySequence: number;
  /** FILETIME as seconds and nanoseconds since 1970. */
  lastWritten: { sec: number; nsec: number };
  major: number;
  minor: number;
  /** 0: primary file; 1: log (old format); 6: log (new format). */
  fileType: number;
  format: number;
  rootCell: number;
  hiveBinsSize: number;
  clustering: number;
  fileName: string;
  checksum: number;
  /** Whether the stored checksum is the XOR of the first 508 bytes. */
  checksumOk: boolean;
}

export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function filetimeOf(b: Uint8Array, at: number): { sec: number; nsec: number } {
  const hi = u32(b, at + 4);
  const lo = u32(b, at);
  // As in the NTFS reader: hi·2^32 + lo split so every step stays below 2^53.
  const h = Math.floor(hi / 0x10000);
  const l = hi % 0x10000;
  let sec = h * 28_147_497;
  let rest = h * 6_710_656 + l * 0x1_0000_0000 + lo;
  sec += Math.floor(rest / 10_000_000);
  rest %= 10_000_000;
  return { sec: sec - 11_644_473_600, nsec: rest * 100 };
}

/** XOR of the first 508 bytes as 32-bit words; Windows stores 1 for 0 and 0xFFFFFFFE for 0xFFFFFFFF. */
export function baseBlockChecksum(b: Uint8Array): { xor: number; stored: number } {
  let x = 0;
  for (let i = 0; i < 508; i += 4) x ^= u32(b, i);
  x >>>= 0;
  return { xor: x, stored: x === 0 ? 1 : x === 0xffffffff ? 0xfffffffe : x };
}

export function utf16Of(b: Uint8Array, at: number, bytes: number): string {
  let s = '';
  for (let i = 0; i + 1 < bytes; i += 2) s += String.fromCharCode(b[at + i]! | (b[at + i + 1]! << 8));
  return s;
}

export function latin1Of(b: Uint8Array, at: number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += String.fromCharCode(b[at + i]!);
  return s;
}

/** Parses a base block (of a primary file, or the partial copy at the start of a log). */
export function parseBaseBlock(b: Uint8Array, where: Where): BaseBlock {
  const w = { ...where, structure: 'base block' };
  if (b.length < 512) throw new DiskProbeError(ErrorCode.TRUNCATED, `${b.length} bytes, shorter than a base block's first sector`, w);
  if (b[0] !== 0x72 || b[1] !== 0x65 || b[2] !== 0x67 || b[3] !== 0x66) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'not a registry hive (no "regf" signature)', { ...w, field: 'signature', offset: 0 });
  const sum = baseBlockChecksum(b);
  const checksum = u32(b, 508);
  let name = utf16Of(b, 48, 64);
  const nul = name.indexOf('\0');
  if (nul >= 0) name = name.slice(0, nul);
  return {
    primarySequence: u32(b, 4),
    secondarySequence: u32(b, 8),
    lastWritten: filetimeOf(b, 12),
    major: u32(b, 20),
    minor: u32(b, 24),
    fileType: u32(b, 28),
    format: u32(b, 32),
    rootCell: u32(b, 36),
    hiveBinsSize: u32(b, 40),
    clustering: u32(b, 44),
    fileName: name,
    checksum,
    checksumOk: checksum === sum.xor || checksum === sum.stored,
  };
}

/**
 * Upper-cases a name the way Windows compares registry names: each UTF-16 code unit by
 * itself (a character whose upper case is longer, like ß, stays as it is).
 */
export function upcase(name: string): string {
  let ascii = true;
  for (let i = 0; i < name.length && ascii; i++) ascii = name.charCodeAt(i) < 0x80;
  if (ascii) return name.toUpperCase();
  let s = '';
  for (const c of name) {
    if (c.length > 1) {
      s += c;
      continue;
    }
    const u = c.toUpperCase();
    s += u.length === 1 ? u : c;
  }
  return s;
}

/** The lh hash of a name: H = 37·H + each upper-cased code unit. */
export function nameHash(name: string): number {
  const u = upcase(name);
  let h = 0;
  for (let i = 0; i < u.length; i++) h = (Math.imul(h, 37) + u.charCodeAt(i)) >>> 0;
  return h;
}
