/** Small helpers for reading fields out of byte arrays. */

/** A DataView over exactly the bytes of `u8` (honouring its byteOffset and byteLength). */
export function viewOf(u8: Uint8Array): DataView {
  return new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** Whether `u8` holds the bytes of `magic` at `at`. */
export function hasBytes(u8: Uint8Array, at: number, magic: Uint8Array | readonly number[]): boolean {
  if (at < 0 || at + magic.length > u8.length) return false;
  for (let i = 0; i < magic.length; i++) if (u8[at + i] !== magic[i]) return false;
  return true;
}

/** The bytes of an ASCII string, for magic numbers. */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** Decodes bytes as Latin-1 (one char per byte): safe for any input, for text we only scan. */
export function latin1(u8: Uint8Array, start = 0, end = u8.length): string {
  const from = Math.max(0, start);
  const to = Math.min(end, u8.length);
  let s = '';
  // fromCharCode over blocks: far faster than a char at a time, and within argument limits.
  for (let i = from; i < to; i += 8192) {
    s += String.fromCharCode.apply(null, u8.subarray(i, Math.min(i + 8192, to)) as unknown as number[]);
  }
  return s;
}

/** The bytes up to the first NUL (or all of them). */
export function beforeNul(u8: Uint8Array): Uint8Array {
  const nul = u8.indexOf(0);
  return nul >= 0 ? u8.subarray(0, nul) : u8;
}

/** A NUL-terminated (or field-length) ASCII string, trimmed of trailing NULs and spaces. */
export function cString(u8: Uint8Array, start: number, length: number): string {
  let end = Math.min(start + length, u8.length);
  const nul = u8.subarray(start, end).indexOf(0);
  if (nul >= 0) end = start + nul;
  return latin1(u8, start, end).replace(/[\s]+$/, '');
}

/** Lower-case hex of bytes. */
export function toHex(u8: Uint8Array): string {
  let s = '';
  for (let i = 0; i < u8.length; i++) s += u8[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Whether every byte is zero. */
export function isAllZero(u8: Uint8Array): boolean {
  // Check 4 bytes at a time where alignment allows: this runs over probe samples.
  let i = 0;
  if ((u8.byteOffset & 3) === 0) {
    const words = new Uint32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
    for (let w = 0; w < words.length; w++) if (words[w] !== 0) return false;
    i = words.length << 2;
  }
  for (; i < u8.length; i++) if (u8[i] !== 0) return false;
  return true;
}

/**
 * Formats a GUID stored in the mixed-endian layout of Microsoft and UEFI (the first three
 * fields little-endian), as upper-case text.
 */
export function guidString(u8: Uint8Array, at = 0): string {
  const b = (i: number) => u8[at + i]!.toString(16).padStart(2, '0');
  return (
    b(3) + b(2) + b(1) + b(0) + '-' + b(5) + b(4) + '-' + b(7) + b(6) + '-' + b(8) + b(9) + '-' +
    b(10) + b(11) + b(12) + b(13) + b(14) + b(15)
  ).toUpperCase();
}

/** Decodes UTF-16LE up to the first NUL code unit. */
export function utf16le(u8: Uint8Array, start: number, length: number): string {
  let s = '';
  const end = Math.min(start + length, u8.length) - 1;
  for (let i = start; i < end; i += 2) {
    const unit = u8[i]! | (u8[i + 1]! << 8);
    if (unit === 0) break;
    s += String.fromCharCode(unit);
  }
  return s;
}

/**
 * A copy of `u8[start, end)` in a new array of its own. Not `slice()`: on a Node Buffer (what
 * Node devices return) `slice()` is a view, so writing to it would write into the device's
 * or a cache's memory, and `.buffer` would be the whole pool.
 */
export function copyBytes(u8: Uint8Array, start = 0, end = u8.length): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  out.set(u8.subarray(start, end));
  return out;
}

/** The 16 bytes at `at` as a UUID string in byte order (`0d15c0b0-0000-4000-…`), as blkid shows most. */
export function uuidString(u8: Uint8Array, at = 0): string {
  const h = toHex(u8.subarray(at, at + 16));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The unsigned 32-bit little-endian number at `at` (bytes past the end read as zero). */
export function u32le(u8: Uint8Array, at: number): number {
  return ((u8[at] ?? 0) | ((u8[at + 1] ?? 0) << 8) | ((u8[at + 2] ?? 0) << 16) | ((u8[at + 3] ?? 0) << 24)) >>> 0;
}
