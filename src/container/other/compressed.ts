/**
 * Compressed files and zip archives: uploaded by mistake instead of the image inside them.
 * References: RFC 1952 2.3 (gzip member header); "The .xz File Format" 1.2.0, 2.1.1 (stream
 * header); RFC 8878 3.1.1 and 3.1.2 (zstd frames and skippable frames); the bzip2 stream
 * header ("BZh" + level + block magic 0x314159265359); PKWARE APPNOTE 6.3.10, 4.3.7 and 4.3.16
 * (zip local file header, end of central directory).
 */
import { asciiBytes, hasBytes, latin1, viewOf } from '../../util/bytes.js';
import type { FormatProbe, ProbeOutcome } from '../types.js';

/** RFC 1952 2.3.1: FLG bits. */
const GzipFlags = { FTEXT: 1, FHCRC: 2, FEXTRA: 4, FNAME: 8, FCOMMENT: 16 } as const;
const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;
const BZIP2_BLOCK = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59] as const;
const BZIP2_EOS = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90] as const;
const ZIP_LOCAL = asciiBytes('PK\x03\x04');
const ZIP_EMPTY = asciiBytes('PK\x05\x06');
const ZIP_SPANNED = asciiBytes('PK\x07\x08');
/** Longest original name read from a gzip header. */
const MAX_NAME = 1024;

const decompressFirst = (what: string) => `${what}: decompress it and upload the disk image inside`;

function gzip(head: Uint8Array, tail: Uint8Array): ProbeOutcome {
  if (!(head.length >= 10 && head[0] === 0x1f && head[1] === 0x8b)) return { reject: 'no gzip magic 1f8b at 0' };
  if (head[2] !== 8) return { reject: `gzip magic, but compression method ${head[2]} is not deflate (8)` };
  const flags = head[3]!;
  const facts: Record<string, unknown> = {};
  const evidence = [{ offset: 0, what: 'gzip magic 1f8b, method deflate' }];
  let at = 10;
  if (flags & GzipFlags.FEXTRA && at + 2 <= head.length) at += 2 + (head[at]! | (head[at + 1]! << 8));
  if (flags & GzipFlags.FNAME && at < head.length) {
    const end = head.subarray(at, Math.min(head.length, at + MAX_NAME)).indexOf(0);
    if (end >= 0) {
      facts.originalName = latin1(head, at, at + end);
      evidence.push({ offset: at, what: `original name "${facts.originalName}"` });
    }
  }
  // RFC 1952 2.3.1: ISIZE, the uncompressed size modulo 2^32, ends the (last) member.
  if (tail.length >= 4) facts.isizeMod32 = viewOf(tail).getUint32(tail.length - 4, true);
  const named = facts.originalName ? ` (of "${facts.originalName}")` : '';
  return { format: 'gzip', kind: 'compressed', evidence, facts, problem: decompressFirst(`a gzip-compressed file${named}`) };
}

function zstd(head: Uint8Array): ProbeOutcome {
  if (hasBytes(head, 0, ZSTD_MAGIC)) {
    return { format: 'zstd', kind: 'compressed', evidence: [{ offset: 0, what: 'zstd frame magic 28b52ffd' }], problem: decompressFirst('a zstd-compressed file') };
  }
  // RFC 8878 3.1.2: skippable frames, magic 0x184D2A50..5F, little-endian.
  if (head.length >= 8) {
    const magic = viewOf(head).getUint32(0, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      return { format: 'zstd', kind: 'compressed', evidence: [{ offset: 0, what: `zstd skippable frame 0x${magic.toString(16)}` }], problem: decompressFirst('a zstd-compressed file') };
    }
  }
  return { reject: 'no zstd frame magic at 0' };
}

function bzip2(head: Uint8Array): ProbeOutcome {
  const level = head[3] ?? 0;
  if (!(hasBytes(head, 0, asciiBytes('BZh')) && level >= 0x31 && level <= 0x39)) return { reject: 'no "BZh1".."BZh9" at 0' };
  if (!hasBytes(head, 4, BZIP2_BLOCK) && !hasBytes(head, 4, BZIP2_EOS)) return { reject: '"BZh" but no block magic at 4' };
  return {
    format: 'bzip2',
    kind: 'compressed',
    evidence: [{ offset: 0, what: `"BZh${String.fromCharCode(level)}" and block magic 314159265359` }],
    problem: decompressFirst('a bzip2-compressed file'),
  };
}

function zip(head: Uint8Array): ProbeOutcome {
  if (hasBytes(head, 0, ZIP_LOCAL) && head.length >= 30) {
    // APPNOTE 4.3.7: file name length at 26, name at 30.
    const nameLength = head[26]! | (head[27]! << 8);
    const name = latin1(head, 30, 30 + Math.min(nameLength, MAX_NAME));
    return {
      format: 'zip',
      kind: 'archive',
      evidence: [{ offset: 0, what: 'zip local file header "PK\\x03\\x04"' }, { offset: 30, what: `first member "${name}"` }],
      facts: { firstMember: name },
      problem: `a zip archive (first member "${name}"): extract it and upload the disk image inside`,
    };
  }
  if (hasBytes(head, 0, ZIP_EMPTY) || hasBytes(head, 0, ZIP_SPANNED)) {
    return { format: 'zip', kind: 'archive', evidence: [{ offset: 0, what: 'zip signature' }], problem: 'a zip archive: extract it and upload the disk image inside' };
  }
  return { reject: 'no zip signature "PK" at 0' };
}

export const gzipProbe: FormatProbe = { formats: ['gzip'], probe: (ctx) => gzip(ctx.head, ctx.tail) };
export const xzProbe: FormatProbe = {
  formats: ['xz'],
  probe: (ctx) =>
    hasBytes(ctx.head, 0, XZ_MAGIC)
      ? { format: 'xz', kind: 'compressed', evidence: [{ offset: 0, what: 'xz stream header magic fd377a585a00' }], problem: decompressFirst('an xz-compressed file') }
      : { reject: 'no xz magic at 0' },
};
export const zstdProbe: FormatProbe = { formats: ['zstd'], probe: (ctx) => zstd(ctx.head) };
export const bzip2Probe: FormatProbe = { formats: ['bzip2'], probe: (ctx) => bzip2(ctx.head) };
export const zipProbe: FormatProbe = { formats: ['zip'], probe: (ctx) => zip(ctx.head) };
