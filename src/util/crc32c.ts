/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of ext4's metadata_csum,
 * XFS v5 metadata and VHDX. `crc32cUpdate` runs the register without inverting it at either end,
 * as Linux's `crc32c()` does (ext4 stores that raw value); `crc32c` is the standard form.
 */

/** Eight tables for slicing-by-8: table k gives the CRC of a byte followed by k zero bytes. */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return t;
})();

/** Runs the register over `bytes[start, end)` from `crc`, with no inversion. */
export function crc32cUpdate(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  const t = TABLES;
  let c = crc >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const lo = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The standard CRC-32C of `bytes`. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return (crc32cUpdate(0xffffffff, bytes, start, end) ^ 0xffffffff) >>> 0;
}
