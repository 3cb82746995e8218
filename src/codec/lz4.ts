/**
 * LZ4, decoded whole into memory, for initramfs archives: the frame format (magic 0x184D2204,
 * lz4_Frame_format.md: FLG/BD descriptor, optional content size and dictionary id, blocks with
 * their size words, optional checksums) and the legacy format the kernel's `lz4 -l` uses (magic
 * 0x184C2102, then blocks each behind a 4-byte compressed size, each up to 8 MiB). The block
 * format (lz4_Block_format.md): sequences of a token, literals, a 2-byte offset and a match.
 * Checksums (xxHash32) are not verified.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';
import { GrowingOutput } from './output.js';
import { codecError } from './types.js';
import { u32le } from '../util/bytes.js';

export const LZ4_FRAME_MAGIC = 0x184d2204;
export const LZ4_LEGACY_MAGIC = 0x184c2102;
const LEGACY_BLOCK = 8 * 1024 * 1024;

function fail(reason: string, offset?: number, code: ErrorCode = ErrorCode.CORRUPT): DiskProbeError {
  return codecError('lz4', reason, offset === undefined ? {} : { offset }, code);
}


/** One LZ4 block from input[start, end) appended to `out`; matches may reach back to `windowStart`. */
function block(input: Uint8Array, start: number, end: number, out: GrowingOutput, windowStart: number): void {
  let i = start;
  for (;;) {
    if (i >= end) throw fail('a block ends inside a sequence', i, ErrorCode.TRUNCATED);
    const token = input[i++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (i >= end) throw fail('a literal length runs past the block', i, ErrorCode.TRUNCATED);
        b = input[i++]!;
        lit += b;
      } while (b === 255);
    }
    if (i + lit > end) throw fail('literals run past the block', i, ErrorCode.TRUNCATED);
    out.ensure(lit);
    out.buf.set(input.subarray(i, i + lit), out.pos);
    out.pos += lit;
    i += lit;
    if (i === end) return; // the last sequence has literals only
    if (i + 2 > end) throw fail('a match offset runs past the block', i, ErrorCode.TRUNCATED);
    const offset = input[i]! | (input[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > out.pos - windowStart) throw fail(`a match offset of ${offset} reaches before the data`, i - 2);
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (i >= end) throw fail('a match length runs past the block', i, ErrorCode.TRUNCATED);
        b = input[i++]!;
        len += b;
      } while (b === 255);
    }
    len += 4;
    out.ensure(len);
    const buf = out.buf;
    let from = out.pos - offset;
    const stop = out.pos + len;
    for (let o = out.pos; o < stop; ) buf[o++] = buf[from++]!;
    out.pos = stop;
  }
}

/** Decodes an LZ4 frame or legacy stream at the start of `input`; returns the output and the bytes consumed. */
export function lz4Expand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  if (input.length < 4) throw fail('too short for an LZ4 stream', 0, ErrorCode.TRUNCATED);
  const magic = u32le(input, 0);
  const out = new GrowingOutput(input.length * 3, limit, 'lz4');
  let pos: number;
  if (magic === LZ4_LEGACY_MAGIC) {
    pos = 4;
    // Blocks until the input ends, a zero size (padding), or the next stream's magic.
    while (pos + 4 <= input.length) {
      const size = u32le(input, pos);
      if (size === 0 || size === LZ4_LEGACY_MAGIC) break;
      if (size > LEGACY_BLOCK + LEGACY_BLOCK / 255 + 16) throw fail(`a legacy block of ${size} bytes`, pos);
      if (pos + 4 + size > input.length) throw fail('a block runs past the input', pos, ErrorCode.TRUNCATED);
      block(input, pos + 4, pos + 4 + size, out, 0);
      pos += 4 + size;
    }
  } else if (magic === LZ4_FRAME_MAGIC) {
    if (input.length < 7) throw fail('the frame header runs past the input', 4, ErrorCode.TRUNCATED);
    const flg = input[4]!;
    if (flg >>> 6 !== 1) throw fail(`frame version ${flg >>> 6}`, 4, ErrorCode.UNSUPPORTED);
    const independent = (flg & 0x20) !== 0;
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    pos = 6 + (contentSize ? 8 : 0) + (dictId ? 4 : 0) + 1;
    if (dictId) throw fail('a frame that needs a dictionary', 4, ErrorCode.UNSUPPORTED);
    for (;;) {
      if (pos + 4 > input.length) throw fail('the frame ends without its end mark', pos, ErrorCode.TRUNCATED);
      const word = u32le(input, pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (pos + size > input.length) throw fail('a block runs past the input', pos - 4, ErrorCode.TRUNCATED);
      if (word & 0x80000000) {
        out.ensure(size);
        out.buf.set(input.subarray(pos, pos + size), out.pos);
        out.pos += size;
      } else block(input, pos, pos + size, out, independent ? out.pos : 0);
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) pos += 4;
    if (pos > input.length) throw fail('the frame checksum runs past the input', pos, ErrorCode.TRUNCATED);
  } else throw fail('not an LZ4 stream', 0, ErrorCode.BAD_MAGIC);
  return { output: out.bytes(), consumed: pos };
}
