/**
 * bzip2, decoded whole into memory (for initramfs archives). The format as bzip2 1.0 writes it:
 * a `BZh1`–`BZh9` stream header, blocks behind the 48-bit magic 0x314159265359 (block CRC,
 * origin pointer, the symbol map, Huffman selectors and code lengths, then MTF/RLE2-coded
 * symbols), and the end-of-stream magic 0x177245385090 with the combined CRC; each block's
 * bytes are the inverse Burrows–Wheeler transform of its symbols, then run-length decoded
 * (four equal bytes and a count). Bits are read most significant first. Block CRCs and the
 * combined CRC are checked. Randomised blocks (written only by bzip2 0.9.0) are E_UNSUPPORTED.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';
import { GrowingOutput } from './output.js';
import { codecError } from './types.js';

function fail(reason: string, offset?: number, code: ErrorCode = ErrorCode.CORRUPT): DiskProbeError {
  return codecError('bzip2', reason, offset === undefined ? {} : { offset }, code);
}

/** CRC-32 as bzip2 computes it: polynomial 0x04C11DB7, most significant bit first. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

class Bits {
  private pos = 0;
  private buf = 0;
  private count = 0;
  constructor(private readonly input: Uint8Array) {}

  /** 32 bits, as two reads: `read` keeps at most 24 bits in flight. */
  read32(): number {
    return ((this.read(16) << 16) | this.read(16)) >>> 0;
  }

  /** `n` bits, 1 to 24. */
  read(n: number): number {
    while (this.count < n) {
      if (this.pos >= this.input.length) throw fail('the stream ends early', this.pos, ErrorCode.TRUNCATED);
      this.buf = ((this.buf << 8) | this.input[this.pos++]!) >>> 0;
      this.count += 8;
    }
    this.count -= n;
    const v = (this.buf >>> this.count) & ((1 << n) - 1);
    this.buf &= (1 << this.count) - 1;
    return v;
  }

  bit(): number {
    return this.read(1);
  }

  /** Bytes consumed so far, counting a partly read byte as read. */
  get consumed(): number {
    return this.pos;
  }

  /** Drops the bits left in the current byte (streams end on a byte boundary). */
  align(): void {
    this.count -= this.count % 8;
    this.buf &= (1 << this.count) - 1;
  }
}

const MAX_CODE_LEN = 20;
const MAX_GROUPS = 6;
const GROUP_SIZE = 50;

/** One block: returns its CRC as computed over what it appended to `out`. */
function block(bits: Bits, out: GrowingOutput, maxBlock: number): number {
  const storedCrc = bits.read32();
  if (bits.bit()) throw fail('a randomised block (bzip2 0.9.0)', bits.consumed, ErrorCode.UNSUPPORTED);
  const origPtr = bits.read(24);
  // The symbol map: 16 ranges of 16 bytes, then which bytes of each used range appear.
  const ranges = bits.read(16);
  const seqToUnseq: number[] = [];
  for (let i = 0; i < 16; i++) {
    if (!(ranges & (0x8000 >>> i))) continue;
    const used = bits.read(16);
    for (let j = 0; j < 16; j++) if (used & (0x8000 >>> j)) seqToUnseq.push(i * 16 + j);
  }
  if (seqToUnseq.length === 0) throw fail('a block uses no byte values', bits.consumed);
  const alphaSize = seqToUnseq.length + 2;
  const groups = bits.read(3);
  if (groups < 2 || groups > MAX_GROUPS) throw fail(`${groups} Huffman groups`, bits.consumed);
  const selectorCount = bits.read(15);
  if (selectorCount === 0) throw fail('no selectors', bits.consumed);
  // Selectors, MTF-coded in unary.
  const mtfGroups = Array.from({ length: groups }, (_, i) => i);
  const selectors = new Uint8Array(selectorCount);
  for (let i = 0; i < selectorCount; i++) {
    let j = 0;
    while (bits.bit()) if (++j >= groups) throw fail('a selector out of range', bits.consumed);
    const v = mtfGroups[j]!;
    mtfGroups.splice(j, 1);
    mtfGroups.unshift(v);
    selectors[i] = v;
  }
  // Code lengths per group, delta-coded; then canonical decoding tables.
  const limits: Int32Array[] = [];
  const bases: Int32Array[] = [];
  const perms: Int32Array[] = [];
  const minLens: number[] = [];
  for (let g = 0; g < groups; g++) {
    const lens = new Uint8Array(alphaSize);
    let len = bits.read(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (len < 1 || len > MAX_CODE_LEN) throw fail(`a code length of ${len}`, bits.consumed);
        if (!bits.bit()) break;
        len += bits.bit() ? -1 : 1;
      }
      lens[s] = len;
    }
    let minLen = MAX_CODE_LEN;
    let maxLen = 0;
    for (const l of lens) {
      if (l < minLen) minLen = l;
      if (l > maxLen) maxLen = l;
    }
    const perm = new Int32Array(alphaSize);
    let p = 0;
    for (let l = minLen; l <= maxLen; l++) for (let s = 0; s < alphaSize; s++) if (lens[s] === l) perm[p++] = s;
    const count = new Int32Array(MAX_CODE_LEN + 2);
    for (const l of lens) count[l]!++;
    const limit = new Int32Array(MAX_CODE_LEN + 2).fill(-1);
    const base = new Int32Array(MAX_CODE_LEN + 2);
    let code = 0;
    let index = 0;
    for (let l = minLen; l <= maxLen; l++) {
      base[l] = index - code;
      code += count[l]!;
      index += count[l]!;
      limit[l] = code - 1;
      code <<= 1;
    }
    limits.push(limit);
    bases.push(base);
    perms.push(perm);
    minLens.push(minLen);
  }
  // Symbols: RUNA/RUNB runs of the front byte, MTF indices, end of block.
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const tt = new Uint32Array(maxBlock);
  const counts = new Int32Array(256);
  let n = 0;
  let run = 0;
  let runWeight = 1;
  let groupLeft = 0;
  let sel = 0;
  let g = 0;
  const emitRun = () => {
    if (run === 0) return;
    const b = seqToUnseq[mtf[0]!]!;
    if (n + run > maxBlock) throw fail('a block larger than its stream header allows', bits.consumed);
    counts[b] = counts[b]! + run;
    tt.fill(b, n, n + run);
    n += run;
    run = 0;
    runWeight = 1;
  };
  for (;;) {
    if (groupLeft === 0) {
      if (sel >= selectorCount) throw fail('more symbols than selectors', bits.consumed);
      g = selectors[sel++]!;
      groupLeft = GROUP_SIZE;
    }
    groupLeft--;
    const limit = limits[g]!;
    let len = minLens[g]!;
    let code = bits.read(len);
    while (len <= MAX_CODE_LEN && code > limit[len]!) {
      code = (code << 1) | bits.bit();
      len++;
    }
    if (len > MAX_CODE_LEN) throw fail('an invalid Huffman code', bits.consumed);
    const sym = perms[g]![code + bases[g]![len]!]!;
    if (sym === undefined || sym >= alphaSize) throw fail('an invalid Huffman code', bits.consumed);
    if (sym <= 1) {
      // RUNA adds 1, RUNB 2, times the run's bijective base-2 weight.
      run += (sym + 1) * runWeight;
      runWeight *= 2;
      if (run > maxBlock) throw fail('a run longer than a block', bits.consumed);
      continue;
    }
    emitRun();
    if (sym === alphaSize - 1) break;
    const index = sym - 1;
    const v = mtf[index]!;
    mtf.copyWithin(1, 0, index);
    mtf[0] = v;
    const b = seqToUnseq[v]!;
    if (n >= maxBlock) throw fail('a block larger than its stream header allows', bits.consumed);
    counts[b]!++;
    tt[n++] = b;
  }
  if (origPtr >= n) throw fail('the origin pointer lies past the block', bits.consumed);
  // Inverse BWT: link each position to the next, through the sorted first column.
  const cf = new Int32Array(256);
  for (let i = 0, sum = 0; i < 256; i++) {
    cf[i] = sum;
    sum += counts[i]!;
  }
  for (let i = 0; i < n; i++) {
    const b = tt[i]! & 0xff;
    const j = cf[b]!;
    cf[b] = j + 1;
    tt[j] = tt[j]! | (i << 8);
  }
  // Then the initial run-length coding: four equal bytes are followed by a repeat count.
  let crc = 0xffffffff;
  let p = tt[origPtr]! >>> 8;
  let last = -1;
  let same = 0;
  for (let k = 0; k < n; k++) {
    const e = tt[p]!;
    const b = e & 0xff;
    p = e >>> 8;
    if (same === 4) {
      for (let r = 0; r < b; r++) {
        out.push(last);
        crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ last) & 0xff]!) >>> 0;
      }
      same = 0;
      last = -1;
      continue;
    }
    if (b === last) same++;
    else {
      last = b;
      same = 1;
    }
    out.push(b);
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  }
  crc = ~crc >>> 0;
  if (crc !== storedCrc) throw fail('a block CRC does not match its data', bits.consumed);
  return crc;
}

export function isBzip2(input: Uint8Array, at = 0): boolean {
  const level = input[at + 3] ?? 0;
  return input[at] === 0x42 && input[at + 1] === 0x5a && input[at + 2] === 0x68 && level >= 0x31 && level <= 0x39;
}

/** Decodes the bzip2 streams at the start of `input`; returns the output and the bytes consumed. */
export function bzip2Expand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  const out = new GrowingOutput(input.length * 4, limit, 'bzip2');
  let start = 0;
  do {
    if (!isBzip2(input, start)) throw fail('not a bzip2 stream', start, ErrorCode.BAD_MAGIC);
    const maxBlock = (input[start + 3]! - 0x30) * 100_000;
    const bits = new Bits(input.subarray(start + 4));
    let combined = 0;
    for (;;) {
      const hi = bits.read(24);
      const lo = bits.read(24);
      if (hi === 0x314159 && lo === 0x265359) {
        const crc = block(bits, out, maxBlock);
        combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
      } else if (hi === 0x177245 && lo === 0x385090) {
        const stored = bits.read32();
        if (stored !== combined) throw fail('the stream CRC does not match its blocks', start + 4 + bits.consumed);
        bits.align();
        break;
      } else throw fail('no block or end-of-stream magic where one should be', start + 4 + bits.consumed);
    }
    start += 4 + bits.consumed;
  } while (isBzip2(input, start));
  return { output: out.bytes(), consumed: start };
}
