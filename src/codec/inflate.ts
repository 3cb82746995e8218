/**
 * Raw deflate (RFC 1951) decoding into a caller's buffer of the exact expected size, in pure
 * JavaScript. Reference: RFC 1951 "DEFLATE Compressed Data Format Specification version 1.3",
 * §3.2.3 (block header), §3.2.4 (stored blocks), §3.2.5 (length and distance codes), §3.2.6
 * (fixed Huffman codes), §3.2.7 (dynamic Huffman codes). Where RFC 1951 leaves a choice (an
 * incomplete code, too many symbols), this does what zlib's inflate does, so that a stream
 * zlib (and so qemu) refuses is refused here too.
 *
 * Why not fflate or pako: both keep decoding past the end of a fixed output buffer (fflate
 * drops the bytes, pako grows its buffer), so a hostile stream that expands 1000-fold costs
 * seconds to minutes on a 2 MiB cluster. This decoder stops at the first byte that does not
 * fit, checks every distance, never reads past its input (bits past the end read as zero and
 * are caught at the next check), and allocates nothing per call: its tables are built in
 * buffers kept between calls. It is as fast as fflate and faster than pako (bench/codecs.ts).
 *
 * Bits are read LSB first from a bit position, three bytes at a time (fflate's technique):
 * every read needs at most 15 + 7 bits.
 */
import { ErrorCode } from '../errors.js';
import { checkArguments, codecError, sizeError, type Decoder } from './types.js';

/** RFC 1951 §3.2.5: base lengths and extra bits of length codes 257..285. */
const LENGTH_BASE = new Uint16Array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LENGTH_EXTRA = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
/** RFC 1951 §3.2.5: base distances and extra bits of distance codes 0..29. */
const DIST_BASE = new Uint16Array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DIST_EXTRA = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
/** RFC 1951 §3.2.7: the order in which code length code lengths are stored. */
const CODE_LENGTH_ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

/** RFC 1951 §3.2.7 (HLIT, HDIST) as zlib bounds them: 286 literal/length and 30 distance codes. */
const MAX_LITLEN_CODES = 286;
const MAX_DIST_CODES = 30;
const MAX_CODE_BITS = 15;

/** Bit-reversal of a byte, for turning canonical codes into LSB-first table indices. */
const REVERSE8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let r = 0;
  for (let b = 0; b < 8; b++) r |= ((i >>> b) & 1) << (7 - b);
  REVERSE8[i] = r;
}

/**
 * A decoding table: entry `bits & mask` is `(symbol << 4) | length`, or 0 for a bit pattern
 * that is no code. `bits` is the longest code's length (the table has 2^bits entries).
 */
interface Table {
  entries: Uint16Array;
  bits: number;
}

/** Tables kept between calls: nothing is allocated per call. */
const litTable: Table = { entries: new Uint16Array(1 << MAX_CODE_BITS), bits: 0 };
const distTable: Table = { entries: new Uint16Array(1 << MAX_CODE_BITS), bits: 0 };
const codeLengthTable: Table = { entries: new Uint16Array(1 << 7), bits: 0 };
const lengths = new Uint8Array(MAX_LITLEN_CODES + MAX_DIST_CODES);
const codeLengths = new Uint8Array(19);
const blCount = new Uint16Array(MAX_CODE_BITS + 1);
const nextCode = new Uint16Array(MAX_CODE_BITS + 1);

/** A fault in the stream, at a byte offset in the input; turned into a DiskProbeError at the top. */
class InflateError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Builds `table` from code lengths `lens[start .. start + count)` (RFC 1951 §3.2.2). Like zlib,
 * refuses an over-subscribed set of lengths, and an incomplete one unless it is a single code
 * of one bit (allowed for literal/length and distance codes, not for code length codes).
 */
function buildTable(lens: Uint8Array, start: number, count: number, table: Table, what: string, allowSingle: boolean, blockAt = -1): void {
  blCount.fill(0);
  for (let i = 0; i < count; i++) blCount[lens[start + i]!]!++;
  let maxBits = MAX_CODE_BITS;
  while (maxBits > 0 && blCount[maxBits] === 0) maxBits--;
  table.bits = maxBits;
  const entries = table.entries;
  if (maxBits === 0) {
    // No codes at all (a block of literals only has no distance codes): every lookup fails.
    table.bits = 1;
    entries[0] = 0;
    entries[1] = 0;
    return;
  }
  let left = 1;
  for (let len = 1; len <= MAX_CODE_BITS; len++) {
    left = (left << 1) - blCount[len]!;
    if (left < 0) throw new InflateError(`over-subscribed ${what} code`, blockAt);
  }
  if (left > 0 && !(allowSingle && maxBits === 1)) throw new InflateError(`incomplete ${what} code`, blockAt);
  blCount[0] = 0;
  let code = 0;
  for (let len = 1; len <= MAX_CODE_BITS; len++) {
    code = (code + blCount[len - 1]!) << 1;
    nextCode[len] = code;
  }
  const size = 1 << maxBits;
  entries.fill(0, 0, size);
  for (let symbol = 0; symbol < count; symbol++) {
    const len = lens[start + symbol]!;
    if (len === 0) continue;
    const c = nextCode[len]!++;
    // The code's bits reversed: Huffman codes are stored most significant bit first.
    const reversed = ((REVERSE8[c & 0xff]! << 8) | REVERSE8[c >>> 8]!) >>> (16 - len);
    const entry = (symbol << 4) | len;
    for (let i = reversed; i < size; i += 1 << len) entries[i] = entry;
  }
}

/** RFC 1951 §3.2.6: the fixed codes, built on first use. */
let fixedLit: Table | undefined;
let fixedDist: Table | undefined;
function fixedTables(): [Table, Table] {
  if (!fixedLit || !fixedDist) {
    const lens = new Uint8Array(288 + 32);
    lens.fill(8, 0, 144);
    lens.fill(9, 144, 256);
    lens.fill(7, 256, 280);
    lens.fill(8, 280, 288);
    lens.fill(5, 288, 320);
    const lit = { entries: new Uint16Array(1 << 9), bits: 0 };
    const dist = { entries: new Uint16Array(1 << 5), bits: 0 };
    buildTable(lens, 0, 288, lit, 'literal/length', false);
    buildTable(lens, 288, 32, dist, 'distance', false);
    fixedLit = lit;
    fixedDist = dist;
  }
  return [fixedLit, fixedDist];
}

/**
 * Decodes the raw deflate stream at the start of `input` into exactly `output.length` bytes.
 * Bytes after the end of the stream are not read. Throws a DiskProbeError (E_CORRUPT, format
 * `deflate`) if the stream is invalid, ends before the output is full, would produce more, or
 * runs past the end of `input`.
 */
export const inflateRaw: Decoder = (input, output) => {
  checkArguments('deflate', input, output);
  try {
    inflateInto(input, output);
  } catch (e) {
    if (e instanceof InflateError) throw codecError('deflate', e.message, e.offset >= 0 ? { offset: e.offset } : {});
    throw e;
  }
};

/** Thrown inside {@link inflateCore} when an output of unknown size is full: the caller grows it. */
class OutputFull extends Error {}

/**
 * Raw deflate whose output size is not known in advance (a gzip member, an initramfs): decodes
 * into a buffer that doubles, from about four times the input, up to `limit` bytes, and returns
 * the output and how many input bytes the stream took (to the byte after its final block).
 * Output past `limit` is `E_LIMIT`; other errors are as {@link inflateRaw}'s.
 */
export function inflateRawExpand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  let size = Math.min(limit, Math.max(64 * 1024, input.length * 4));
  for (;;) {
    const out = new Uint8Array(size);
    try {
      const { written, consumed } = inflateCore(input, out, false);
      return { output: out.subarray(0, written), consumed };
    } catch (e) {
      if (e instanceof InflateError) {
        // A stream cut short: the input ends before the final block does.
        const code = e.offset === input.length ? ErrorCode.TRUNCATED : ErrorCode.CORRUPT;
        throw codecError('deflate', e.message, e.offset >= 0 ? { offset: e.offset } : {}, code);
      }
      if (!(e instanceof OutputFull)) throw e;
      if (size >= limit) throw codecError('deflate', `the stream expands to more than ${limit} bytes`, { field: 'decompressed size', expected: `<= ${limit}` }, ErrorCode.LIMIT);
      size = Math.min(limit, size * 2);
    }
  }
}

function inflateInto(input: Uint8Array, out: Uint8Array): void {
  inflateCore(input, out, true);
}

/**
 * Decodes into `out`. With `exact`, the stream must fill `out` exactly (sizeError otherwise);
 * without, it may end early and a full `out` throws OutputFull. Returns the bytes written and
 * the input bytes consumed.
 */
function inflateCore(input: Uint8Array, out: Uint8Array, exact: boolean): { written: number; consumed: number } {
  const full = () => (exact ? sizeError('deflate', out.length + 1, out.length) : new OutputFull());
  const totalBits = input.length * 8;
  const outEnd = out.length;
  let pos = 0; // bit position in input
  let op = 0; // bytes written
  let final = 0;

  /** `n` (0..16) bits at `pos`, LSB first; bytes past the end read as zero. */
  const bits = (n: number): number => {
    const o = pos >>> 3;
    const v = ((input[o]! | (input[o + 1]! << 8) | (input[o + 2]! << 16)) >>> (pos & 7)) & ((1 << n) - 1);
    pos += n;
    return v;
  };
  const truncated = () => new InflateError('stream runs past the end of the input', input.length);

  do {
    if (pos + 3 > totalBits) throw truncated();
    const blockAt = pos >>> 3;
    final = bits(1);
    const type = bits(2);
    let lit: Table;
    let dist: Table;
    if (type === 0) {
      // §3.2.4 stored block: skip to a byte boundary, LEN, NLEN (its one's complement), LEN bytes.
      const o = (pos + 7) >>> 3;
      if (o + 4 > input.length) throw truncated();
      const len = input[o]! | (input[o + 1]! << 8);
      const nlen = input[o + 2]! | (input[o + 3]! << 8);
      if (len !== (~nlen & 0xffff)) throw new InflateError('invalid stored block lengths', o);
      if (o + 4 + len > input.length) throw truncated();
      if (op + len > outEnd) throw full();
      out.set(input.subarray(o + 4, o + 4 + len), op);
      op += len;
      pos = (o + 4 + len) * 8;
      continue;
    } else if (type === 1) {
      [lit, dist] = fixedTables();
    } else if (type === 2) {
      // §3.2.7 dynamic block: HLIT, HDIST, HCLEN, then the code lengths, themselves coded.
      if (pos + 14 > totalBits) throw truncated();
      const nlit = bits(5) + 257;
      const ndist = bits(5) + 1;
      const ncode = bits(4) + 4;
      if (nlit > MAX_LITLEN_CODES || ndist > MAX_DIST_CODES) throw new InflateError('too many length or distance symbols', blockAt);
      codeLengths.fill(0);
      for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]!] = bits(3);
      buildTable(codeLengths, 0, 19, codeLengthTable, 'code lengths', false, blockAt);
      const clEntries = codeLengthTable.entries;
      const clMask = (1 << codeLengthTable.bits) - 1;
      const total = nlit + ndist;
      for (let i = 0; i < total; ) {
        if (pos > totalBits) throw truncated();
        const o = pos >>> 3;
        const entry = clEntries[((input[o]! | (input[o + 1]! << 8)) >>> (pos & 7)) & clMask]!;
        if (entry === 0) throw new InflateError('invalid code lengths code', o);
        pos += entry & 15;
        const symbol = entry >>> 4;
        if (symbol < 16) {
          lengths[i++] = symbol;
          continue;
        }
        let repeat: number;
        let value = 0;
        if (symbol === 16) {
          if (i === 0) throw new InflateError('invalid bit length repeat', o);
          value = lengths[i - 1]!;
          repeat = 3 + bits(2);
        } else if (symbol === 17) repeat = 3 + bits(3);
        else repeat = 11 + bits(7);
        if (i + repeat > total) throw new InflateError('invalid bit length repeat', o);
        lengths.fill(value, i, i + repeat);
        i += repeat;
      }
      if (pos > totalBits) throw truncated();
      if (lengths[256] === 0) throw new InflateError('invalid code -- missing end-of-block', blockAt);
      buildTable(lengths, 0, nlit, litTable, 'literal/length', true, blockAt);
      buildTable(lengths, nlit, ndist, distTable, 'distance', true, blockAt);
      lit = litTable;
      dist = distTable;
    } else {
      throw new InflateError('invalid block type', blockAt);
    }

    // §3.2.5: literals, lengths with their distances, until end-of-block (256).
    const litEntries = lit.entries;
    const litMask = (1 << lit.bits) - 1;
    const distEntries = dist.entries;
    const distMask = (1 << dist.bits) - 1;
    for (;;) {
      let o = pos >>> 3;
      const entry = litEntries[((input[o]! | (input[o + 1]! << 8) | (input[o + 2]! << 16)) >>> (pos & 7)) & litMask]!;
      pos += entry & 15;
      const symbol = entry >>> 4;
      if (pos > totalBits) throw truncated();
      if (symbol < 256) {
        if (entry === 0) throw new InflateError('invalid literal/length code', o);
        if (op === outEnd) throw full();
        out[op++] = symbol;
        continue;
      }
      if (symbol === 256) break;
      const li = symbol - 257;
      if (li >= 29) throw new InflateError('invalid literal/length code', o);
      let length = LENGTH_BASE[li]!;
      const lextra = LENGTH_EXTRA[li]!;
      if (lextra) length += bits(lextra);
      o = pos >>> 3;
      const dentry = distEntries[((input[o]! | (input[o + 1]! << 8) | (input[o + 2]! << 16)) >>> (pos & 7)) & distMask]!;
      pos += dentry & 15;
      const dsym = dentry >>> 4;
      if (dentry === 0 || dsym >= 30) throw new InflateError('invalid distance code', o);
      let distance = DIST_BASE[dsym]!;
      const dextra = DIST_EXTRA[dsym]!;
      if (dextra) distance += bits(dextra);
      if (pos > totalBits) throw truncated();
      if (distance > op) throw new InflateError('invalid distance too far back', o);
      if (op + length > outEnd) throw full();
      let from = op - distance;
      const end = op + length;
      if (distance >= length && length > 32) {
        out.copyWithin(op, from, from + length);
        op = end;
      } else {
        while (op < end) out[op++] = out[from++]!;
      }
    }
  } while (!final);
  if (exact && op !== outEnd) throw sizeError('deflate', op, outEnd);
  return { written: op, consumed: (pos + 7) >>> 3 };
}
