/**
 * NTFS on-disk structures: the boot sector, multi-sector records with their update sequence
 * (MFT records `FILE`, index blocks `INDX`, log pages `RSTR`), attribute records, runlists and
 * LZNT1 compression. References: the Linux-NTFS project's "NTFS Documentation" and the kernel's
 * `fs/ntfs` layout notes (boot sector, MFT record, attributes, index), Microsoft's MS-XCA §2.5
 * (LZNT1) and MS-FSCC §2.1.2 (reparse data buffers). Everything here is a pure function of
 * bytes, with every length checked against the bytes it lies in.
 */
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { copyBytes, viewOf } from '../../util/bytes.js';

/** Attribute type codes. */
export const AT = {
  STANDARD_INFORMATION: 0x10,
  ATTRIBUTE_LIST: 0x20,
  FILE_NAME: 0x30,
  OBJECT_ID: 0x40,
  SECURITY_DESCRIPTOR: 0x50,
  VOLUME_NAME: 0x60,
  VOLUME_INFORMATION: 0x70,
  DATA: 0x80,
  INDEX_ROOT: 0x90,
  INDEX_ALLOCATION: 0xa0,
  BITMAP: 0xb0,
  REPARSE_POINT: 0xc0,
  EA_INFORMATION: 0xd0,
  EA: 0xe0,
  END: 0xffffffff,
} as const;

/** File attribute bits ($STANDARD_INFORMATION and $FILE_NAME). */
export const FA = {
  READONLY: 0x1,
  HIDDEN: 0x2,
  SYSTEM: 0x4,
  ARCHIVE: 0x20,
  DEVICE: 0x40,
  NORMAL: 0x80,
  TEMPORARY: 0x100,
  SPARSE: 0x200,
  REPARSE: 0x400,
  COMPRESSED: 0x800,
  OFFLINE: 0x1000,
  NOT_INDEXED: 0x2000,
  ENCRYPTED: 0x4000,
  /** Reported for directories (Windows' FILE_ATTRIBUTE_DIRECTORY); not stored in $STANDARD_INFORMATION. */
  DIRECTORY_ATTRIBUTE: 0x10,
  /** In $FILE_NAME only: the name is a directory's. */
  DIRECTORY: 0x10000000,
} as const;

export const FA_NAMES: [number, string][] = [
  [FA.READONLY, 'readonly'],
  [FA.HIDDEN, 'hidden'],
  [FA.SYSTEM, 'system'],
  [FA.DIRECTORY_ATTRIBUTE, 'directory'],
  [FA.ARCHIVE, 'archive'],
  [FA.TEMPORARY, 'temporary'],
  [FA.SPARSE, 'sparse'],
  [FA.REPARSE, 'reparse'],
  [FA.COMPRESSED, 'compressed'],
  [FA.OFFLINE, 'offline'],
  [FA.NOT_INDEXED, 'not-indexed'],
  [FA.ENCRYPTED, 'encrypted'],
];

/** Attribute record flags. */
export const ATTR_FLAG = { COMPRESSED: 0x0001, ENCRYPTED: 0x4000, SPARSE: 0x8000 } as const;

/** Reparse tags (MS-FSCC §2.1.2.1) diskprobe interprets or names. */
export const REPARSE = {
  MOUNT_POINT: 0xa0000003,
  SYMLINK: 0xa000000c,
  DEDUP: 0x80000013,
  WOF: 0x80000017,
  LX_SYMLINK: 0xa000001d,
  AF_UNIX: 0x80000023,
  LX_FIFO: 0x80000024,
  LX_CHR: 0x80000025,
  LX_BLK: 0x80000026,
} as const;

export const REPARSE_NAMES: Record<number, string> = {
  [REPARSE.MOUNT_POINT]: 'mount-point',
  [REPARSE.SYMLINK]: 'symlink',
  [REPARSE.DEDUP]: 'dedup',
  [REPARSE.WOF]: 'wof',
  [REPARSE.LX_SYMLINK]: 'lx-symlink',
  [REPARSE.AF_UNIX]: 'af-unix',
  [REPARSE.LX_FIFO]: 'lx-fifo',
  [REPARSE.LX_CHR]: 'lx-chr',
  [REPARSE.LX_BLK]: 'lx-blk',
  0x80000009: 'hsm',
  0x8000000a: 'dfs',
  0x80000012: 'dfsr',
  0x8000001b: 'appexeclink',
  0x9000001a: 'cloud',
};

/** File-name namespaces of $FILE_NAME. */
export const NS = { POSIX: 0, WIN32: 1, DOS: 2, WIN32_AND_DOS: 3 } as const;

/** MFT record flags. */
export const MFT_FLAG = { IN_USE: 0x1, DIRECTORY: 0x2 } as const;

/** What the boot sector says about the volume. */
export interface Geometry {
  bytesPerSector: number;
  clusterSize: number;
  totalSectors: number;
  clusters: number;
  mftLcn: number;
  mftMirrLcn: number;
  recordSize: number;
  indexBlockSize: number;
  serial: string;
}

function u64(v: DataView, at: number): number {
  return v.getUint32(at + 4, true) * 0x1_0000_0000 + v.getUint32(at, true);
}

/** Reads and checks a boot sector; throws CORRUPT/BAD_MAGIC naming the field. */
export function parseBoot(b: Uint8Array, where: Where, deviceSize: number): Geometry {
  const v = viewOf(b);
  const w = { ...where, structure: 'NTFS boot sector' };
  const bad = (field: string, offset: number, value: unknown, expected: string): never => {
    throw new DiskProbeError(ErrorCode.CORRUPT, `${field} = ${String(value)} (expected ${expected})`, { ...w, field, offset: (where.offset ?? 0) + offset, value, expected });
  };
  const oem = String.fromCharCode(...b.subarray(3, 11));
  if (oem !== 'NTFS    ') throw new DiskProbeError(ErrorCode.BAD_MAGIC, `OEM id is ${JSON.stringify(oem)}, not "NTFS    "`, { ...w, field: 'oem_id', offset: (where.offset ?? 0) + 3 });
  const bps = v.getUint16(0x0b, true);
  if (bps < 256 || bps > 4096 || (bps & (bps - 1)) !== 0) bad('bytes_per_sector', 0x0b, bps, 'a power of two from 256 to 4096');
  const spcRaw = b[0x0d]!;
  const spc = spcRaw <= 0x80 ? spcRaw : 2 ** (256 - spcRaw);
  if (spc === 0 || (spc & (spc - 1)) !== 0 || spc * bps > 2 * 1024 * 1024) bad('sectors_per_cluster', 0x0d, spcRaw, 'a power of two, clusters of at most 2 MiB');
  const clusterSize = spc * bps;
  const totalSectors = u64(v, 0x28);
  if (totalSectors < 16 || !Number.isSafeInteger(totalSectors)) bad('number_of_sectors', 0x28, totalSectors, 'at least 16');
  const clusters = Math.floor(totalSectors / spc);
  const mftLcn = u64(v, 0x30);
  const mftMirrLcn = u64(v, 0x38);
  if (mftLcn === 0 || mftLcn >= clusters) bad('mft_lcn', 0x30, mftLcn, `1 to ${clusters - 1}`);
  if (mftMirrLcn >= clusters) bad('mftmirr_lcn', 0x38, mftMirrLcn, `below ${clusters}`);
  const size = (raw: number) => (raw > 0 && raw < 0x80 ? raw * clusterSize : raw >= 0x80 ? 2 ** (256 - raw) : 0);
  const recordSize = size(b[0x40]!);
  if (recordSize < 256 || recordSize > 65536 || (recordSize & (recordSize - 1)) !== 0) bad('clusters_per_mft_record', 0x40, b[0x40], 'a record of 256 bytes to 64 KiB');
  const indexBlockSize = size(b[0x44]!);
  if (indexBlockSize < 256 || indexBlockSize > 65536 || (indexBlockSize & (indexBlockSize - 1)) !== 0) bad('clusters_per_index_record', 0x44, b[0x44], 'a block of 256 bytes to 64 KiB');
  if (mftLcn * clusterSize + recordSize > deviceSize) {
    throw new DiskProbeError(ErrorCode.TRUNCATED, `the MFT at cluster ${mftLcn} lies past the device's end (${deviceSize} bytes)`, { ...w, field: 'mft_lcn', offset: (where.offset ?? 0) + 0x30, value: mftLcn });
  }
  const serial = (v.getUint32(0x4c, true).toString(16).padStart(8, '0') + v.getUint32(0x48, true).toString(16).padStart(8, '0')).toUpperCase();
  return { bytesPerSector: bps, clusterSize, totalSectors, clusters, mftLcn, mftMirrLcn, recordSize, indexBlockSize, serial };
}

/**
 * A copy of a multi-sector record (`FILE`, `INDX`, `RSTR`, `RCRD`) with its update sequence
 * applied: the last two bytes of every 512-byte stride must hold the sequence number and are
 * replaced by the saved values. A mismatch means a torn write or damage: CORRUPT at the stride.
 */
export function applyFixups(raw: Uint8Array, magic: string, where: Where, into?: Uint8Array): Uint8Array {
  const got = String.fromCharCode(...raw.subarray(0, 4));
  if (got !== magic) {
    const reason = got === 'BAAD' ? `the record is marked BAAD (a multi-sector transfer failed), not ${magic}` : `magic ${JSON.stringify(got)} is not ${JSON.stringify(magic)}`;
    throw new DiskProbeError(ErrorCode.BAD_MAGIC, reason, { ...where, field: 'magic' });
  }
  let r: Uint8Array;
  if (into && into.length === raw.length) {
    into.set(raw);
    r = into;
  } else r = copyBytes(raw);
  const v = viewOf(r);
  const usaOfs = v.getUint16(4, true);
  const usaCount = v.getUint16(6, true);
  const strides = r.length >> 9;
  if (usaCount !== strides + 1 || usaOfs < 8 || usaOfs % 2 !== 0 || usaOfs + usaCount * 2 > r.length) {
    throw new DiskProbeError(ErrorCode.CORRUPT, `update sequence of ${usaCount} entries at ${usaOfs} does not fit a ${r.length}-byte record (expected ${strides + 1})`, { ...where, field: 'usa_count', value: usaCount });
  }
  const usn = v.getUint16(usaOfs, true);
  for (let i = 1; i < usaCount; i++) {
    const end = i * 512 - 2;
    if (v.getUint16(end, true) !== usn) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `update sequence mismatch at the end of stride ${i - 1} (${v.getUint16(end, true)}, expected ${usn}): a torn or damaged record`, {
        ...where,
        field: 'update_sequence',
        offset: where.offset === undefined ? undefined : where.offset + end,
        value: v.getUint16(end, true),
      });
    }
    v.setUint16(end, v.getUint16(usaOfs + i * 2, true), true);
  }
  return r;
}

/** VCNs are 64-bit; files are limited to 2^64 bytes. diskprobe reads up to 2^48 clusters. */
const MAX_VCN = 2 ** 48;

/** One run of a non-resident attribute: `count` clusters from `vcn`, at `lcn` (-1: sparse). */
export interface Run {
  vcn: number;
  lcn: number;
  count: number;
}

/** An attribute record as stored, resident or not. */
export interface Attribute {
  type: number;
  name: string;
  flags: number;
  id: number;
  resident: boolean;
  /** Resident: the value (a copy). */
  value?: Uint8Array;
  /** Non-resident: runs, first and last VCN of this extent, and the sizes (from the first extent). */
  runs?: Run[];
  startVcn: number;
  lastVcn: number;
  allocated: number;
  size: number;
  initialized: number;
  compressionUnit: number;
  compressedSize: number;
  /** Device offset of the attribute record, for errors. */
  at: number;
}

/** An MFT record, its fixups applied and its attributes parsed. */
export interface MftRecord {
  ino: number;
  seq: number;
  flags: number;
  links: number;
  /** The base record's number (0 for a base record). */
  base: number;
  attrs: Attribute[];
  /** Device offset of the record. */
  at: number;
}

function utf16(u8: Uint8Array, at: number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) s += String.fromCharCode(u8[at + 2 * i]! | (u8[at + 2 * i + 1]! << 8));
  return s;
}
export { utf16 as utf16Chars };

const UNREAD = new Set<number>([AT.OBJECT_ID, AT.SECURITY_DESCRIPTOR, 0x100 /* $LOGGED_UTILITY_STREAM */, 0xd0 /* $EA_INFORMATION */]);
const EMPTY = new Uint8Array(0);

// Errors are made by functions outside the hot loops: a closure per call costs (esbuild's
// keepNames wraps each one).
function runError(where: Where, p: number, why: string): DiskProbeError {
  return new DiskProbeError(ErrorCode.CORRUPT, `runlist: ${why}`, { ...where, structure: 'runlist', offset: where.offset === undefined ? undefined : where.offset + p });
}

function recordError(where: Where, ino: number, at: number, field: string, off: number, why: string, value?: unknown): DiskProbeError {
  return new DiskProbeError(ErrorCode.CORRUPT, why, { ...where, structure: `MFT record ${ino}`, field, offset: at + off, value });
}

/**
 * Decodes a runlist from `bytes[at, end)`, starting at `startVcn`. Each run header's low nibble
 * is the size of the length, the high nibble the size of the signed LCN delta (0: sparse).
 */
export function decodeRuns(bytes: Uint8Array, at: number, end: number, startVcn: number, clusters: number, where: Where): Run[] {
  const runs: Run[] = [];
  let vcn = startVcn;
  let lcn = 0;
  let p = at;
  while (p < end) {
    const h = bytes[p]!;
    if (h === 0) return runs;
    const lb = h & 0xf;
    const ob = h >> 4;
    if (lb === 0 || lb > 8 || ob > 8) throw runError(where, p, `header byte 0x${h.toString(16)} (length and offset sizes must be 1–8 and 0–8)`);
    if (p + 1 + lb + ob > end) throw runError(where, p, 'a run extends past its attribute');
    let count = 0;
    for (let i = lb - 1; i >= 0; i--) count = count * 256 + bytes[p + 1 + i]!;
    if (bytes[p + lb]! & 0x80 || count === 0 || vcn + count > MAX_VCN) throw runError(where, p, `a run of ${count} clusters from VCN ${vcn}`);
    if (ob === 0) runs.push({ vcn, lcn: -1, count });
    else {
      let delta = bytes[p + lb + ob]! & 0x80 ? -1 : 0;
      for (let i = ob - 1; i >= 0; i--) delta = delta * 256 + bytes[p + 1 + lb + i]!;
      lcn += delta;
      if (lcn < 0 || lcn + count > clusters) throw runError(where, p, `a run of ${count} clusters at LCN ${lcn}, outside the volume's ${clusters} clusters`);
      runs.push({ vcn, lcn, count });
    }
    vcn += count;
    p += 1 + lb + ob;
  }
  return runs;
}

/**
 * Parses the attributes of a record whose fixups are applied. Resident values are views of `r`
 * (a copy the caller owns), or with `copy`, copies (when `r` is a buffer the caller reuses).
 * `at`: the record's device offset.
 */
export function parseRecord(r: Uint8Array, ino: number, at: number, clusters: number, where: Where, copy = false): MftRecord {
  const v = viewOf(r);
  const used = v.getUint32(0x18, true);
  if (used > r.length || used < 0x30) throw recordError(where, ino, at, 'bytes_in_use', 0x18, `bytes in use (${used}) outside 48..${r.length}`, used);
  const first = v.getUint16(0x14, true);
  if (first < 0x2a || first >= used || first % 8 !== 0) throw recordError(where, ino, at, 'attrs_offset', 0x14, `first attribute at ${first}`, first);
  const rec: MftRecord = { ino, seq: v.getUint16(0x10, true), flags: v.getUint16(0x16, true), links: v.getUint16(0x12, true), base: u64(v, 0x20) % 0x1_0000_0000_0000, attrs: [], at };
  let p = first;
  for (;;) {
    if (p + 4 > used) throw recordError(where, ino, at, 'attribute', p, 'the attribute list runs past the bytes in use (no end marker)');
    const type = v.getUint32(p, true);
    if (type === AT.END) break;
    if (p + 16 > used) throw recordError(where, ino, at, 'attribute', p, 'an attribute header past the bytes in use');
    const length = v.getUint32(p + 4, true);
    if (length < 24 || length % 8 !== 0 || p + length > used) throw recordError(where, ino, at, 'attribute.length', p + 4, `attribute of type 0x${type.toString(16)} with length ${length}`, length);
    const nonResident = r[p + 8]!;
    const nameLength = r[p + 9]!;
    const nameOffset = v.getUint16(p + 10, true);
    if (nameLength && (nameOffset + nameLength * 2 > length || nameOffset < 16)) throw recordError(where, ino, at, 'attribute.name_offset', p + 10, `attribute name at ${nameOffset} (${nameLength} characters) outside its ${length} bytes`);
    const a: Attribute = {
      type,
      name: nameLength ? utf16(r, p + nameOffset, nameLength) : '',
      flags: v.getUint16(p + 12, true),
      id: v.getUint16(p + 14, true),
      resident: nonResident === 0,
      startVcn: 0,
      lastVcn: -1,
      allocated: 0,
      size: 0,
      initialized: 0,
      compressionUnit: 0,
      compressedSize: 0,
      at: at + p,
    };
    if (a.resident) {
      const vlen = v.getUint32(p + 16, true);
      const voff = v.getUint16(p + 20, true);
      if (voff + vlen > length || voff < 24) throw recordError(where, ino, at, 'attribute.value_offset', p + 20, `resident value of ${vlen} bytes at ${voff} outside its ${length}-byte attribute`);
      // `r` is the caller's own copy (fixups applied): values are views of it, not copies.
      // Security descriptors, object ids and the like are not read: not copied either.
      // Of $STANDARD_INFORMATION only the times and attributes (0x24 bytes: small enough for
      // V8 to keep on its heap) are read.
      a.value = !copy ? r.subarray(p + voff, p + voff + vlen) : UNREAD.has(type) ? EMPTY : copyBytes(r, p + voff, p + voff + (type === AT.STANDARD_INFORMATION ? Math.min(vlen, 0x24) : vlen));
      a.size = a.initialized = a.allocated = vlen;
    } else {
      if (length < 64) throw recordError(where, ino, at, 'attribute.length', p + 4, `non-resident attribute of ${length} bytes`, length);
      a.startVcn = u64(v, p + 16);
      a.lastVcn = v.getInt32(p + 28, true) < 0 ? -1 : u64(v, p + 24);
      const runsAt = v.getUint16(p + 32, true);
      a.compressionUnit = v.getUint16(p + 34, true);
      a.allocated = u64(v, p + 40);
      a.size = u64(v, p + 48);
      a.initialized = u64(v, p + 56);
      if (a.compressionUnit && length >= 72) a.compressedSize = u64(v, p + 64);
      if (a.compressionUnit > 16) throw recordError(where, ino, at, 'attribute.compression_unit', p + 34, `compression unit of 2^${a.compressionUnit} clusters`, a.compressionUnit);
      if (runsAt < 64 || runsAt > length) throw recordError(where, ino, at, 'attribute.mapping_pairs_offset', p + 32, `runlist at ${runsAt} outside its ${length}-byte attribute`, runsAt);
      if (a.startVcn > a.lastVcn + 1) throw recordError(where, ino, at, 'attribute.lowest_vcn', p + 16, `first VCN ${a.startVcn} after the last (${a.lastVcn})`, a.startVcn);
      if (a.startVcn === 0 && (!Number.isSafeInteger(a.allocated) || a.initialized > a.size || a.size > a.allocated)) {
        throw recordError(where, ino, at, 'attribute.data_size', p + 48, `sizes do not agree: allocated ${a.allocated}, data ${a.size}, initialized ${a.initialized}`);
      }
      a.runs = decodeRuns(r, p + runsAt, p + length, a.startVcn, clusters, { ...where, structure: `MFT record ${ino}`, offset: at });
      const end = a.runs.length ? a.runs[a.runs.length - 1]!.vcn + a.runs[a.runs.length - 1]!.count : a.startVcn;
      if (end !== a.lastVcn + 1) throw recordError(where, ino, at, 'attribute.highest_vcn', p + 24, `the runlist ends at VCN ${end}, the header says ${a.lastVcn + 1}`, a.lastVcn);
    }
    rec.attrs.push(a);
    p += length;
    if (rec.attrs.length > 4096) throw recordError(where, ino, at, 'attribute', p, 'more than 4096 attributes in one record');
  }
  return rec;
}

/** The little-endian u32 at `at` of `b`. */
export function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Converts a Windows FILETIME (100 ns ticks since 1601) at `at`. */
export function filetime(v: DataView | Uint8Array, at: number): { sec: number; nsec: number } {
  const hi = v instanceof DataView ? v.getUint32(at + 4, true) : u32At(v, at + 4);
  const lo = v instanceof DataView ? v.getUint32(at, true) : u32At(v, at);
  // ticks = hi·2^32 + lo exceeds 2^53, so divide in two steps that stay exact: with
  // hi = h·2^16 + l, ticks = (h·2^16 + l)·2^32 + lo; (h·2^48) mod 10^7 and the rest each fit.
  const h = Math.floor(hi / 0x10000);
  const l = hi % 0x10000;
  // h·2^48 = h·(28147497·10^7 + 6710656)
  let sec = h * 28_147_497;
  let rest = h * 6_710_656 + l * 0x1_0000_0000 + lo; // < 2^16·6710656 + 2^48 + 2^32 < 2^53
  sec += Math.floor(rest / 10_000_000);
  rest %= 10_000_000;
  return { sec: sec - 11_644_473_600, nsec: rest * 100 };
}

/**
 * LZNT1 (MS-XCA §2.5): decompresses `src` into `dst` from `at`, at most `limit` bytes.
 * Returns the count written. Chunks of up to 4096 bytes, each with a 16-bit header (bit 15:
 * compressed, low 12 bits: size − 3); a compressed chunk is flag bytes each for eight tokens,
 * a literal byte or a 16-bit back-reference whose split between offset and length depends on
 * how far into the chunk it is.
 */
export function lznt1(src: Uint8Array, dst: Uint8Array, at: number, limit: number, where: Where): number {
  let s = 0;
  let out = at;
  const end = at + limit;
  const fail = (why: string): never => {
    throw new DiskProbeError(ErrorCode.CORRUPT, `LZNT1: ${why}`, { ...where, structure: 'LZNT1 chunk', value: s });
  };
  while (s + 2 <= src.length && out < end) {
    const header = src[s]! | (src[s + 1]! << 8);
    if (header === 0) break;
    const size = (header & 0xfff) + 1;
    const chunkEnd = s + 2 + size;
    if (chunkEnd > src.length) fail(`a chunk of ${size} bytes past the compressed data's ${src.length}`);
    s += 2;
    const chunkStart = out;
    const chunkLimit = Math.min(end, chunkStart + 4096);
    if (!(header & 0x8000)) {
      const n = Math.min(size, chunkLimit - out);
      dst.set(src.subarray(s, s + n), out);
      out += n;
      s = chunkEnd;
      continue;
    }
    while (s < chunkEnd && out < chunkLimit) {
      const flags = src[s++]!;
      for (let bit = 0; bit < 8 && s < chunkEnd && out < chunkLimit; bit++) {
        if (!(flags & (1 << bit))) {
          dst[out++] = src[s++]!;
          continue;
        }
        if (s + 2 > chunkEnd) fail('a back-reference cut by the chunk end');
        const token = src[s]! | (src[s + 1]! << 8);
        s += 2;
        const pos = out - chunkStart;
        let shift = 12;
        for (let i = pos - 1; i >= 0x10; i >>= 1) shift--;
        const offset = (token >> shift) + 1;
        let length = (token & ((1 << shift) - 1)) + 3;
        if (offset > pos) fail(`a back-reference ${offset} bytes back from position ${pos} of its chunk`);
        length = Math.min(length, chunkLimit - out);
        // Overlapping copies repeat bytes, so go byte by byte.
        for (let k = 0; k < length; k++, out++) dst[out] = dst[out - offset]!;
      }
    }
    s = chunkEnd;
    // A chunk that decompresses to less than 4096 bytes is followed by zeros only at the end.
  }
  return out - at;
}

/** A reparse point's target, as a POSIX path inside the volume where it can be one. */
export interface ReparseInfo {
  tag: number;
  tagName: string;
  /** Symlinks and junctions: the target as stored (substitute name) and as printed. */
  substitute?: string;
  print?: string;
  relative?: boolean;
  /** The target as a path inside this filesystem (absolute from its root, or relative). */
  target?: string;
  /** WOF: the compression algorithm. */
  wofAlgorithm?: string;
}

const WOF_ALGORITHMS = ['XPRESS4K', 'LZX', 'XPRESS8K', 'XPRESS16K'];

/** Parses a $REPARSE_POINT value (MS-FSCC §2.1.2). */
export function parseReparse(b: Uint8Array, where: Where): ReparseInfo {
  if (b.length < 8) throw new DiskProbeError(ErrorCode.CORRUPT, `reparse data of ${b.length} bytes`, { ...where, structure: '$REPARSE_POINT' });
  const v = viewOf(b);
  const tag = v.getUint32(0, true);
  const dataLength = v.getUint16(4, true);
  const info: ReparseInfo = { tag, tagName: REPARSE_NAMES[tag] ?? `0x${tag.toString(16).padStart(8, '0')}` };
  const fail = (why: string): never => {
    throw new DiskProbeError(ErrorCode.CORRUPT, `${info.tagName} reparse data: ${why}`, { ...where, structure: '$REPARSE_POINT', value: tag });
  };
  if (8 + dataLength > b.length) fail(`${dataLength} bytes of data declared, ${b.length - 8} stored`);
  if (tag === REPARSE.SYMLINK || tag === REPARSE.MOUNT_POINT) {
    const buffer = tag === REPARSE.SYMLINK ? 20 : 16;
    if (dataLength < buffer - 8) fail('too short for its header');
    const name = (o: number, l: number): string => {
      if (o % 2 || l % 2 || buffer + o + l > 8 + dataLength) fail(`a name at ${o} of ${l} bytes outside the data`);
      return utf16(b, buffer + o, l / 2);
    };
    info.substitute = name(v.getUint16(8, true), v.getUint16(10, true));
    info.print = name(v.getUint16(12, true), v.getUint16(14, true));
    info.relative = tag === REPARSE.SYMLINK && (v.getUint32(16, true) & 1) === 1;
    info.target = windowsTarget(info.substitute || info.print, info.relative);
  } else if (tag === REPARSE.LX_SYMLINK) {
    if (dataLength < 4) fail('too short for its version');
    info.target = new TextDecoder().decode(b.subarray(12, 8 + dataLength));
    info.relative = !info.target.startsWith('/');
  } else if (tag === REPARSE.WOF && dataLength >= 16) {
    info.wofAlgorithm = WOF_ALGORITHMS[v.getUint32(20, true)] ?? `algorithm ${v.getUint32(20, true)}`;
  }
  return info;
}

/**
 * A Windows link target as a path in this volume: relative ones with `/` for `\`; absolute ones
 * (`\??\C:\dir`, `C:\dir`) with the drive dropped — the link is taken to point into the volume
 * that holds it, the only one diskprobe can see; device and UNC paths are left as they are (they
 * do not resolve).
 */
export function windowsTarget(t: string, relative: boolean | undefined): string {
  if (relative) return t.replace(/\\/g, '/');
  const m = /^(?:\\\?\?\\|\\\\\?\\)?([A-Za-z]):(\\.*)?$/.exec(t);
  if (m) return (m[2] ?? '\\').replace(/\\/g, '/');
  return t;
}
