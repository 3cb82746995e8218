/**
 * LZMA, LZMA2 and the .xz and .lzma containers, decoded whole into memory, for initramfs
 * archives (dracut and mkinitramfs write xz; old ones lzma). References: the .xz file format
 * specification 1.1.0 (stream header and footer, block header, index, LZMA2 filter id 0x21);
 * the LZMA algorithm as the LZMA SDK's lzma-specification.txt describes it (range decoder,
 * probability model, literal/match/rep coding). Only the LZMA2 filter is read: an .xz stream
 * with a BCJ or delta filter is E_UNSUPPORTED.
 *
 * The whole output is the dictionary (nothing is evicted), so matches are checked against the
 * bytes produced since the last dictionary reset. The output grows by doubling up to a limit.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { GrowingOutput } from './output.js';
import { codecError } from './types.js';
import { u32le } from '../util/bytes.js';

type Codec = 'xz' | 'lzma';

function fail(codec: Codec, reason: string, offset?: number, code: ErrorCode = ErrorCode.CORRUPT): DiskProbeError {
  return codecError(codec, reason, offset === undefined ? {} : { offset }, code);
}

/** The output, which is also the dictionary: LZMA2 resets where the dictionary starts. */
class Output extends GrowingOutput {
  dictStart = 0;
}

const PROBS_INIT = 1024;
const NUM_STATES = 12;
const POS_STATES_MAX = 16;
const LEN_LOW_BITS = 3;
const LEN_MID_BITS = 3;
const LEN_HIGH_BITS = 8;
const END_POS_MODEL = 14;
const NUM_FULL_DISTANCES = 128;
const ALIGN_BITS = 4;

/** The probability model for one set of lc/lp/pb: one Uint16Array, in sections. */
class Model {
  readonly p: Uint16Array;
  readonly isMatch = 0;
  readonly isRep = NUM_STATES * POS_STATES_MAX;
  readonly isRepG0 = this.isRep + NUM_STATES;
  readonly isRepG1 = this.isRepG0 + NUM_STATES;
  readonly isRepG2 = this.isRepG1 + NUM_STATES;
  readonly isRep0Long = this.isRepG2 + NUM_STATES;
  readonly posSlot = this.isRep0Long + NUM_STATES * POS_STATES_MAX;
  readonly specPos = this.posSlot + 4 * 64;
  readonly align = this.specPos + NUM_FULL_DISTANCES - END_POS_MODEL;
  readonly lenCoder = this.align + (1 << ALIGN_BITS);
  readonly repLenCoder = this.lenCoder + 2 + 2 * POS_STATES_MAX * 8 + 256;
  readonly literal = this.repLenCoder + 2 + 2 * POS_STATES_MAX * 8 + 256;

  constructor(readonly lc: number) {
    this.p = new Uint16Array(this.literal + 0x300 * (1 << lc) * 16);
    this.p.fill(PROBS_INIT);
  }

  reset(): void {
    this.p.fill(PROBS_INIT);
  }
}

/** The range decoder over `input` from `pos`. */
class RangeDecoder {
  range = 0xffffffff;
  code = 0;
  pos: number;

  constructor(
    private readonly input: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly codec: Codec,
  ) {
    if (start + 5 > end) throw fail(codec, 'the stream ends inside the range coder header', start, ErrorCode.TRUNCATED);
    if (input[start] !== 0) throw fail(codec, 'the range coder does not start with a zero byte', start);
    this.code = ((input[start + 1]! << 24) | (input[start + 2]! << 16) | (input[start + 3]! << 8) | input[start + 4]!) >>> 0;
    this.pos = start + 5;
    if (this.code === this.range) throw fail(codec, 'invalid range coder start', start);
  }

  private next(): number {
    if (this.pos >= this.end) throw fail(this.codec, 'the compressed data ends early', this.pos, ErrorCode.TRUNCATED);
    return this.input[this.pos++]!;
  }

  bit(p: Uint16Array, i: number): number {
    const prob = p[i]!;
    const bound = (this.range >>> 11) * prob;
    let b: number;
    if (this.code < bound) {
      this.range = bound;
      p[i] = prob + ((2048 - prob) >>> 5);
      b = 0;
    } else {
      this.range = (this.range - bound) >>> 0;
      this.code = (this.code - bound) >>> 0;
      p[i] = prob - (prob >>> 5);
      b = 1;
    }
    if (this.range < 0x1000000) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
    return b;
  }

  direct(count: number): number {
    let result = 0;
    for (let i = 0; i < count; i++) {
      this.range >>>= 1;
      let b = 0;
      if (this.code >= this.range) {
        this.code = (this.code - this.range) >>> 0;
        b = 1;
      }
      result = ((result << 1) | b) >>> 0;
      if (this.range < 0x1000000) {
        this.range = (this.range << 8) >>> 0;
        this.code = ((this.code << 8) | this.next()) >>> 0;
      }
    }
    return result;
  }

  tree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(p, base + m);
    return m - (1 << bits);
  }

  reverseTree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let symbol = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(p, base + m);
      m = (m << 1) | b;
      symbol |= b << i;
    }
    return symbol;
  }
}

/** LZMA decoding state that survives between LZMA2 chunks. */
class LzmaState {
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  model: Model;

  constructor(
    public lc: number,
    public lp: number,
    public pb: number,
  ) {
    this.model = new Model(lc);
  }

  resetState(): void {
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.model.reset();
  }

  setProps(lc: number, lp: number, pb: number): void {
    if (lc !== this.lc) this.model = new Model(lc);
    this.lc = lc;
    this.lp = lp;
    this.pb = pb;
  }
}

function decodeLen(rc: RangeDecoder, p: Uint16Array, base: number, posState: number): number {
  // choice, choice2, low[16][8], mid[16][8], high[256]
  if (rc.bit(p, base) === 0) return rc.tree(p, base + 2 + posState * 8, LEN_LOW_BITS);
  if (rc.bit(p, base + 1) === 0) return 8 + rc.tree(p, base + 2 + POS_STATES_MAX * 8 + posState * 8, LEN_MID_BITS);
  return 16 + rc.tree(p, base + 2 + 2 * POS_STATES_MAX * 8, LEN_HIGH_BITS);
}

/**
 * Decodes LZMA symbols until `until` bytes are out (LZMA2 chunks), or the end marker (when
 * `until` is undefined or `allowMarker`). Returns true if the end marker was read.
 */
function decodeLzma(rc: RangeDecoder, s: LzmaState, out: Output, until: number | undefined, codec: Codec): boolean {
  const m = s.model;
  const p = m.p;
  const lc = s.lc;
  const lpMask = (1 << s.lp) - 1;
  const pbMask = (1 << s.pb) - 1;
  for (;;) {
    if (until !== undefined && out.pos >= until) return false;
    const pos = out.pos;
    const posState = pos & pbMask;
    const buf0 = out.buf;
    if (rc.bit(p, m.isMatch + (s.state << 4) + posState) === 0) {
      // Literal.
      const prev = pos > out.dictStart ? buf0[pos - 1]! : 0;
      const base = m.literal + 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
      let symbol = 1;
      if (s.state >= 7) {
        if (s.rep0 >= pos - out.dictStart) throw fail(codec, 'a match refers to data before the dictionary start');
        let matchByte = buf0[pos - s.rep0 - 1]!;
        while (symbol < 0x100) {
          const matchBit = (matchByte >>> 7) & 1;
          matchByte <<= 1;
          const b = rc.bit(p, base + ((1 + matchBit) << 8) + symbol);
          symbol = (symbol << 1) | b;
          if (matchBit !== b) break;
        }
      }
      while (symbol < 0x100) symbol = (symbol << 1) | rc.bit(p, base + symbol);
      out.ensure(1);
      out.buf[out.pos++] = symbol & 0xff;
      s.state = s.state < 4 ? 0 : s.state < 10 ? s.state - 3 : s.state - 6;
      continue;
    }
    let len: number;
    if (rc.bit(p, m.isRep + s.state) === 1) {
      if (pos === out.dictStart) throw fail(codec, 'a repeated match at the start of the dictionary');
      if (rc.bit(p, m.isRepG0 + s.state) === 0) {
        if (rc.bit(p, m.isRep0Long + (s.state << 4) + posState) === 0) {
          // Short rep: one byte at rep0.
          if (s.rep0 >= pos - out.dictStart) throw fail(codec, 'a repeated match reaches before the dictionary start');
          s.state = s.state < 7 ? 9 : 11;
          out.ensure(1);
          out.buf[out.pos] = out.buf[out.pos - s.rep0 - 1]!;
          out.pos++;
          continue;
        }
      } else {
        let dist: number;
        if (rc.bit(p, m.isRepG1 + s.state) === 0) dist = s.rep1;
        else {
          if (rc.bit(p, m.isRepG2 + s.state) === 0) dist = s.rep2;
          else {
            dist = s.rep3;
            s.rep3 = s.rep2;
          }
          s.rep2 = s.rep1;
        }
        s.rep1 = s.rep0;
        s.rep0 = dist;
      }
      len = decodeLen(rc, p, m.repLenCoder, posState);
      s.state = s.state < 7 ? 8 : 11;
    } else {
      s.rep3 = s.rep2;
      s.rep2 = s.rep1;
      s.rep1 = s.rep0;
      len = decodeLen(rc, p, m.lenCoder, posState);
      s.state = s.state < 7 ? 7 : 10;
      const lenState = len < 4 ? len : 3;
      const slot = rc.tree(p, m.posSlot + (lenState << 6), 6);
      let dist: number;
      if (slot < 4) dist = slot;
      else {
        const direct = (slot >>> 1) - 1;
        dist = ((2 | (slot & 1)) << direct) >>> 0;
        if (slot < END_POS_MODEL) dist = (dist + rc.reverseTree(p, m.specPos + dist - slot - 1, direct)) >>> 0;
        else {
          dist = (dist + ((rc.direct(direct - ALIGN_BITS) << ALIGN_BITS) >>> 0)) >>> 0;
          dist = (dist + rc.reverseTree(p, m.align - 1, ALIGN_BITS)) >>> 0;
        }
      }
      if (dist === 0xffffffff) return true; // end marker
      s.rep0 = dist;
    }
    len += 2;
    const dist = s.rep0;
    if (dist >= out.pos - out.dictStart) throw fail(codec, `a match reaches ${dist + 1} bytes back, before the dictionary start`);
    if (until !== undefined && out.pos + len > until) throw fail(codec, 'a match runs past the end of the chunk');
    out.ensure(len);
    const b = out.buf;
    let from = out.pos - dist - 1;
    const end = out.pos + len;
    for (let o = out.pos; o < end; ) b[o++] = b[from++]!;
    out.pos = end;
  }
}

function propsOf(byte: number, codec: Codec, offset: number): [number, number, number] {
  if (byte >= 9 * 5 * 5) throw fail(codec, 'invalid LZMA properties byte', offset);
  const lc = byte % 9;
  const rest = Math.floor(byte / 9);
  return [lc, rest % 5, Math.floor(rest / 5)];
}

/** LZMA2 chunks from `start`; returns where they end (after the 0x00 end byte). */
function decodeLzma2(input: Uint8Array, start: number, end: number, out: Output): number {
  let pos = start;
  let s: LzmaState | undefined;
  let needDictReset = true;
  for (;;) {
    if (pos >= end) throw fail('xz', 'LZMA2 data ends without its end marker', pos, ErrorCode.TRUNCATED);
    const control = input[pos]!;
    if (control === 0x00) return pos + 1;
    if (control === 0x01 || control === 0x02) {
      if (pos + 3 > end) throw fail('xz', 'LZMA2 chunk header runs past the input', pos, ErrorCode.TRUNCATED);
      if (control === 0x01) {
        out.dictStart = out.pos;
        needDictReset = false;
      } else if (needDictReset) throw fail('xz', 'LZMA2 data does not start with a dictionary reset', pos);
      const size = ((input[pos + 1]! << 8) | input[pos + 2]!) + 1;
      if (pos + 3 + size > end) throw fail('xz', 'LZMA2 uncompressed chunk runs past the input', pos, ErrorCode.TRUNCATED);
      out.ensure(size);
      out.buf.set(input.subarray(pos + 3, pos + 3 + size), out.pos);
      out.pos += size;
      pos += 3 + size;
      continue;
    }
    if (control < 0x80) throw fail('xz', `invalid LZMA2 control byte 0x${control.toString(16)}`, pos);
    if (pos + 5 > end) throw fail('xz', 'LZMA2 chunk header runs past the input', pos, ErrorCode.TRUNCATED);
    const unpacked = ((control & 0x1f) << 16) + ((input[pos + 1]! << 8) | input[pos + 2]!) + 1;
    const packed = ((input[pos + 3]! << 8) | input[pos + 4]!) + 1;
    const mode = (control >>> 5) & 3;
    let at = pos + 5;
    if (mode === 3) {
      out.dictStart = out.pos;
      needDictReset = false;
    } else if (needDictReset) throw fail('xz', 'LZMA2 data does not start with a dictionary reset', pos);
    if (mode >= 2) {
      if (at >= end) throw fail('xz', 'LZMA2 chunk header runs past the input', pos, ErrorCode.TRUNCATED);
      const [lc, lp, pb] = propsOf(input[at]!, 'xz', at);
      if (lc + lp > 4) throw fail('xz', 'LZMA2 properties with lc + lp > 4', at);
      at++;
      if (!s) s = new LzmaState(lc, lp, pb);
      else s.setProps(lc, lp, pb);
    } else if (!s) throw fail('xz', 'LZMA2 chunk without properties', pos);
    if (mode >= 1) s.resetState();
    if (at + packed > end) throw fail('xz', 'LZMA2 chunk runs past the input', pos, ErrorCode.TRUNCATED);
    const rc = new RangeDecoder(input, at, at + packed, 'xz');
    const target = out.pos + unpacked;
    decodeLzma(rc, s, out, target, 'xz');
    if (rc.pos !== at + packed) throw fail('xz', 'LZMA2 chunk size does not match its data', at);
    pos = at + packed;
  }
}

/** An xz variable-length integer. */
function vli(input: Uint8Array, at: number, end: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) throw fail('xz', 'a number runs past its header', at, ErrorCode.TRUNCATED);
    const b = input[at + i]!;
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw fail('xz', 'a number longer than 9 bytes', at);
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];


/** Whether `input` starts with an .xz stream header. */
export function isXz(input: Uint8Array, at = 0): boolean {
  return XZ_MAGIC.every((b, i) => input[at + i] === b);
}

/**
 * Decodes one .xz stream from the start of `input` (and any streams concatenated after it, with
 * their padding). Returns the output and the input bytes consumed. CRC32 checks are verified;
 * CRC64 and SHA-256 are skipped.
 */
export function xzExpand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  const out = new Output(input.length * 4, limit, 'xz');
  let pos = 0;
  const end = input.length;
  do {
    pos = xzStream(input, pos, end, out);
    // Stream padding: zero bytes in multiples of four, then possibly another stream.
    let pad = pos;
    while (pad + 4 <= end && u32le(input, pad) === 0) pad += 4;
    if (!isXz(input, pad)) break;
    pos = pad;
  } while (pos < end);
  return { output: out.bytes(), consumed: pos };
}

function xzStream(input: Uint8Array, start: number, end: number, out: Output): number {
  if (start + 12 > end || !isXz(input, start)) throw fail('xz', 'not an .xz stream header', start, ErrorCode.BAD_MAGIC);
  if (crc32(input.subarray(start + 6, start + 8)) !== u32le(input, start + 8)) throw fail('xz', 'stream header CRC32 mismatch', start + 8);
  const checkType = input[start + 7]! & 0x0f;
  const checkSize = CHECK_SIZES[checkType]!;
  let pos = start + 12;
  for (;;) {
    if (pos >= end) throw fail('xz', 'the stream ends before its index', pos, ErrorCode.TRUNCATED);
    const sizeByte = input[pos]!;
    if (sizeByte === 0) break; // the index
    const headerSize = (sizeByte + 1) * 4;
    if (pos + headerSize > end) throw fail('xz', 'block header runs past the input', pos, ErrorCode.TRUNCATED);
    if (crc32(input.subarray(pos, pos + headerSize - 4)) !== u32le(input, pos + headerSize - 4)) throw fail('xz', 'block header CRC32 mismatch', pos);
    const flags = input[pos + 1]!;
    const filters = (flags & 3) + 1;
    let at = pos + 2;
    const headerEnd = pos + headerSize - 4;
    if (flags & 0x40) at += vli(input, at, headerEnd)[1];
    if (flags & 0x80) at += vli(input, at, headerEnd)[1];
    let dictOk = false;
    for (let f = 0; f < filters; f++) {
      const [id, n1] = vli(input, at, headerEnd);
      at += n1;
      const [propSize, n2] = vli(input, at, headerEnd);
      at += n2 + propSize;
      if (id !== 0x21 || f !== filters - 1) throw fail('xz', `filter 0x${id.toString(16)} is not read (only LZMA2)`, pos, ErrorCode.UNSUPPORTED);
      dictOk = propSize === 1;
    }
    if (!dictOk) throw fail('xz', 'LZMA2 filter properties are not one byte', pos);
    const blockStart = out.pos;
    const dataEnd = decodeLzma2(input, pos + headerSize, end, out);
    // Block padding to a multiple of four, then the check.
    let after = dataEnd;
    while ((after - pos) % 4 !== 0) after++;
    if (after + checkSize > end) throw fail('xz', 'block check runs past the input', after, ErrorCode.TRUNCATED);
    if (checkType === 1 && crc32(out.buf.subarray(blockStart, out.pos)) !== u32le(input, after)) throw fail('xz', 'block CRC32 mismatch', after);
    pos = after + checkSize;
  }
  // Index: 0x00, record count, records, padding, CRC32; then the 12-byte footer.
  const indexStart = pos;
  let at = pos + 1;
  const [records, n] = vli(input, at, end);
  at += n;
  for (let r = 0; r < records; r++) {
    at += vli(input, at, end)[1];
    at += vli(input, at, end)[1];
  }
  while ((at - indexStart) % 4 !== 0) at++;
  at += 4;
  if (at + 12 > end) throw fail('xz', 'the stream footer runs past the input', at, ErrorCode.TRUNCATED);
  if (input[at + 10] !== 0x59 || input[at + 11] !== 0x5a) throw fail('xz', 'no stream footer where the index ends', at);
  return at + 12;
}

/**
 * The legacy .lzma format (LZMA_Alone): a properties byte, the dictionary size, the
 * uncompressed size (all ones: unknown, the end marker ends it), then one LZMA stream.
 */
export function lzmaAloneExpand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  if (input.length < 13) throw fail('lzma', 'the header runs past the input', 0, ErrorCode.TRUNCATED);
  const [lc, lp, pb] = propsOf(input[0]!, 'lzma', 0);
  let known: number | undefined;
  let allOnes = true;
  let size = 0;
  for (let i = 12; i >= 5; i--) {
    if (input[i] !== 0xff) allOnes = false;
    size = size * 256 + input[i]!;
  }
  if (!allOnes) {
    if (size > limit) throw fail('lzma', `the stream expands to ${size} bytes, more than ${limit}`, 5, ErrorCode.LIMIT);
    known = size;
  }
  const out = new Output(known ?? input.length * 4, limit, 'lzma');
  const s = new LzmaState(lc, lp, pb);
  const rc = new RangeDecoder(input, 13, input.length, 'lzma');
  const marker = decodeLzma(rc, s, out, known, 'lzma');
  if (known !== undefined && out.pos !== known) throw fail('lzma', 'the stream ends before its stated size');
  if (known === undefined && !marker) throw fail('lzma', 'the stream has no end marker');
  return { output: out.bytes(), consumed: rc.pos };
}
