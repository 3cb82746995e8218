/**
 * gzip (RFC 1952) decoded whole into memory: members one after another, each a header (FEXTRA,
 * FNAME, FCOMMENT, FHCRC as its flags say), a raw deflate stream, and a trailer whose CRC32 and
 * size (mod 2^32) are checked against the output.
 */
import { ErrorCode } from '../errors.js';
import { crc32 } from '../util/crc32.js';
import { inflateRawExpand } from './inflate.js';
import { joined } from './output.js';
import { codecError } from './types.js';
import { u32le } from '../util/bytes.js';

export function isGzip(input: Uint8Array, at = 0): boolean {
  return input[at] === 0x1f && input[at + 1] === 0x8b && input[at + 2] === 8;
}


/** Decodes the gzip members at the start of `input`; returns the output and the bytes consumed. */
export function gzipExpand(input: Uint8Array, limit: number): { output: Uint8Array; consumed: number } {
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  do {
    if (!isGzip(input, pos)) throw codecError('gzip', 'not a gzip member', { offset: pos }, ErrorCode.BAD_MAGIC);
    if (pos + 10 > input.length) throw codecError('gzip', 'the header runs past the input', { offset: pos }, ErrorCode.TRUNCATED);
    const flags = input[pos + 3]!;
    let at = pos + 10;
    if (flags & 4) {
      if (at + 2 > input.length) throw codecError('gzip', 'the extra field runs past the input', { offset: at }, ErrorCode.TRUNCATED);
      at += 2 + (input[at]! | (input[at + 1]! << 8));
    }
    for (const bit of [8, 16]) {
      if (!(flags & bit)) continue;
      while (at < input.length && input[at] !== 0) at++;
      at++;
    }
    if (flags & 2) at += 2;
    if (at >= input.length) throw codecError('gzip', 'the header runs past the input', { offset: pos }, ErrorCode.TRUNCATED);
    const { output, consumed } = inflateRawExpand(input.subarray(at), limit - total);
    at += consumed;
    if (at + 8 > input.length) throw codecError('gzip', 'the trailer runs past the input', { offset: at }, ErrorCode.TRUNCATED);
    if (crc32(output) !== u32le(input, at)) throw codecError('gzip', 'CRC32 of the data does not match the trailer', { offset: at });
    if (output.length % 2 ** 32 !== u32le(input, at + 4)) throw codecError('gzip', 'the size in the trailer does not match the data', { offset: at + 4 });
    parts.push(output);
    total += output.length;
    pos = at + 8;
  } while (isGzip(input, pos));
  return { output: joined(parts), consumed: pos };
}
