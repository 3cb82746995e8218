/**
 * CRC-32 with the IEEE 802.3 polynomial (reflected, 0xEDB88320): what the UEFI specification
 * uses for GPT headers and entry arrays (UEFI 2.10 §4.2 and §5.3.2), and, with a different start
 * value and no final inversion, what LVM2 uses for its labels and metadata (`calc_crc`).
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Runs the register over `bytes` from `crc`, with no inversion at either end. */
export function crc32Update(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = crc >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** The standard CRC-32 of `bytes` (zlib's `crc32`, UEFI's `CalculateCrc32`). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return (crc32Update(0xffffffff, bytes, start, end) ^ 0xffffffff) >>> 0;
}
