/**
 * A hosted sparse extent (`KDMV`). References: VMware "Virtual Disk Format 5.0" technote,
 * "Hosted Sparse Extent Header", "Grain Directory and Grain Tables" and "Stream-Optimized
 * Compressed Sparse Extents". A grain table entry is the sector of its grain: 0 means not
 * allocated (read the parent, or zeros), 1 means a zeroed grain (with the zeroed-grain flag);
 * compressed grains start with their guest LBA and compressed size (a grain marker) and hold a
 * zlib stream (RFC 1950) of one grain.
 */
import type { Codecs, Decoder } from '../../codec/types.js';
import { inflateRawExpand } from '../../codec/inflate.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, u64, type Where } from '../../errors.js';
import { hasBytes, viewOf } from '../../util/bytes.js';
import type { Finding } from '../types.js';
import { COWD_MAGIC, COWDiskHeader as C, GD_AT_END, Marker, MarkerType, SPARSE_MAGIC, SparseExtentHeader as S, SparseFlags, VmdkLimits } from './layout.js';

const SECTOR = 512;
/** Grain tables kept per extent (each 2 KiB at the usual 512 entries). */
const GT_CACHE = 512;
/** Decompressed grains kept, for reads that land in the same grain one after another. */
const GRAIN_CACHE = 8;

/** The fields of a SparseExtentHeader, as numbers. */
export interface SparseHeader {
  version: number;
  flags: number;
  /** Sectors. */
  capacity: number;
  grainSize: number;
  descriptorOffset: number;
  descriptorSize: number;
  numGTEsPerGT: number;
  rgdOffset: number;
  gdOffset: number;
  overHead: number;
  uncleanShutdown: boolean;
  compressAlgorithm: number;
  /** Where the header in use was read: 0, or the footer's offset for a streamOptimized file. */
  at: number;
}

export function decodeSparseHeader(bytes: Uint8Array, at: number, where: Where): SparseHeader {
  if (bytes.length < S.LENGTH || !hasBytes(bytes, 0, SPARSE_MAGIC)) {
    throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no "KDMV" magic: not a hosted sparse extent header', { ...where, structure: 'SparseExtentHeader', field: 'magicNumber', offset: at });
  }
  const v = viewOf(bytes);
  const w = (field: string, offset: number): Where => ({ ...where, structure: 'SparseExtentHeader', field, offset: at + offset });
  const gd = v.getBigUint64(S.gdOffset, true);
  return {
    version: v.getUint32(S.version, true),
    flags: v.getUint32(S.flags, true),
    capacity: u64(v, S.capacity, true, w('capacity', S.capacity)),
    grainSize: u64(v, S.grainSize, true, w('grainSize', S.grainSize)),
    descriptorOffset: u64(v, S.descriptorOffset, true, w('descriptorOffset', S.descriptorOffset)),
    descriptorSize: u64(v, S.descriptorSize, true, w('descriptorSize', S.descriptorSize)),
    numGTEsPerGT: v.getUint32(S.numGTEsPerGT, true),
    rgdOffset: u64(v, S.rgdOffset, true, w('rgdOffset', S.rgdOffset)),
    gdOffset: gd === GD_AT_END ? -1 : u64(v, S.gdOffset, true, w('gdOffset', S.gdOffset)),
    overHead: u64(v, S.overHead, true, w('overHead', S.overHead)),
    uncleanShutdown: v.getUint8(S.uncleanShutdown) !== 0,
    compressAlgorithm: v.getUint16(S.compressAlgorithm, true),
    at,
  };
}

/** Checks the header's fields against the technote's and qemu's ranges. */
function validate(h: SparseHeader, fileSize: number, where: Where): void {
  const bad = (field: string, offset: number, value: number, expected: string) => {
    throw new DiskProbeError(ErrorCode.CORRUPT, `SparseExtentHeader.${field} = ${value} (expected ${expected})`, { ...where, structure: 'SparseExtentHeader', field, offset: h.at + offset, value, expected });
  };
  if (h.version < 1 || h.version > 3) {
    throw new DiskProbeError(ErrorCode.UNSUPPORTED, `sparse extent version ${h.version} is not one diskprobe reads (1 to 3)`, { ...where, structure: 'SparseExtentHeader', field: 'version', offset: h.at + S.version, value: h.version });
  }
  if (h.grainSize < 1 || h.grainSize > VmdkLimits.MAX_GRAIN_SECTORS || (h.grainSize & (h.grainSize - 1)) !== 0) bad('grainSize', S.grainSize, h.grainSize, `a power of two from 1 to ${VmdkLimits.MAX_GRAIN_SECTORS} sectors`);
  if (h.numGTEsPerGT < 1 || h.numGTEsPerGT > VmdkLimits.MAX_GTES_PER_GT) bad('numGTEsPerGT', S.numGTEsPerGT, h.numGTEsPerGT, `1 to ${VmdkLimits.MAX_GTES_PER_GT}`);
  if (h.capacity * SECTOR > Number.MAX_SAFE_INTEGER) bad('capacity', S.capacity, h.capacity, 'a size below 2^53 bytes');
  if ((h.flags & SparseFlags.compressedGrains) && h.compressAlgorithm !== 1) {
    throw new DiskProbeError(ErrorCode.UNSUPPORTED, `compressAlgorithm ${h.compressAlgorithm} is not deflate (1)`, { ...where, structure: 'SparseExtentHeader', field: 'compressAlgorithm', offset: h.at + S.compressAlgorithm, value: h.compressAlgorithm });
  }
  if (h.gdOffset >= 0 && h.gdOffset * SECTOR >= fileSize) bad('gdOffset', S.gdOffset, h.gdOffset, `a sector inside the ${fileSize}-byte file`);
}

/** Reads the header, following a streamOptimized file's footer when the grain directory is at the end. */
export async function readSparseHeader(dev: BlockDevice, where: Where, findings: Finding[], signal?: AbortSignal): Promise<{ header: SparseHeader; first: SparseHeader }> {
  if (dev.size < S.LENGTH) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the file is shorter than a sparse extent header', { ...where, structure: 'SparseExtentHeader', offset: 0, value: dev.size });
  const first = decodeSparseHeader(await dev.read(0, S.LENGTH, signal), 0, where);
  let header = first;
  if (first.gdOffset < 0) {
    // streamOptimized: footer marker, footer (a header with the real gdOffset), end-of-stream marker.
    if (dev.size < 3 * SECTOR + S.LENGTH) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the grain directory is at the end, but the file ends before a footer', { ...where, structure: 'footer', offset: dev.size });
    const tail = await dev.read(dev.size - 3 * SECTOR, 3 * SECTOR, signal);
    const tv = viewOf(tail);
    const footerMarker = tv.getUint32(Marker.type, true);
    const eos = tv.getUint32(2 * SECTOR + Marker.type, true);
    if (footerMarker !== MarkerType.FOOTER || tv.getUint32(Marker.size, true) !== 0) {
      throw new DiskProbeError(ErrorCode.TRUNCATED, 'the grain directory is at the end of the stream, but there is no footer marker before the last two sectors (a stream cut short?)', { ...where, structure: 'footer marker', offset: dev.size - 3 * SECTOR, value: footerMarker, expected: `${MarkerType.FOOTER}` });
    }
    header = decodeSparseHeader(tail.subarray(SECTOR, 2 * SECTOR), dev.size - 2 * SECTOR, where);
    if (eos !== MarkerType.EOS || tv.getBigUint64(2 * SECTOR, true) !== 0n) {
      findings.push({ severity: 'warning', code: 'vmdk.no-eos-marker', message: 'the footer is not followed by an end-of-stream marker', offset: dev.size - SECTOR });
    }
    if (header.gdOffset < 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'the footer also says the grain directory is at the end', { ...where, structure: 'footer', field: 'gdOffset', offset: header.at + S.gdOffset });
    if (header.capacity !== first.capacity || header.grainSize !== first.grainSize) {
      findings.push({ severity: 'warning', code: 'vmdk.footer-differs', message: `the footer's capacity or grain size (${header.capacity}, ${header.grainSize}) differs from the header's (${first.capacity}, ${first.grainSize}); the footer's are used`, offset: header.at });
    }
  }
  validate(header, dev.size, where);
  if (header.uncleanShutdown) findings.push({ severity: 'warning', code: 'vmdk.unclean-shutdown', message: 'uncleanShutdown is set: the extent was not closed cleanly', offset: header.at + S.uncleanShutdown });
  return { header, first };
}

/** Grain tables of an ESX sparse extent always hold this many entries. */
const COWD_GTES = 4096;

/**
 * An ESX Server sparse extent's header (`COWD`, vmfsSparse redo logs), as the fields of a
 * hosted sparse header: the grain directory and tables work the same way, with 4096-entry
 * tables and no compression.
 */
export async function readCowdHeader(dev: BlockDevice, where: Where, findings: Finding[], signal?: AbortSignal): Promise<SparseHeader> {
  if (dev.size < C.LENGTH) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the file is shorter than an ESX sparse extent header', { ...where, structure: 'COWDisk_Header', offset: 0, value: dev.size });
  const b = await dev.read(0, C.LENGTH, signal);
  if (!hasBytes(b, 0, COWD_MAGIC)) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no "COWD" magic: not an ESX sparse extent', { ...where, structure: 'COWDisk_Header', field: 'magicNumber', offset: 0 });
  const v = viewOf(b);
  const h: SparseHeader = {
    version: v.getUint32(C.version, true),
    flags: 0,
    capacity: v.getUint32(C.numSectors, true),
    grainSize: v.getUint32(C.grainSize, true),
    descriptorOffset: 0,
    descriptorSize: 0,
    numGTEsPerGT: COWD_GTES,
    rgdOffset: 0,
    gdOffset: v.getUint32(C.gdOffset, true),
    overHead: v.getUint32(C.freeSector, true),
    uncleanShutdown: false,
    compressAlgorithm: 0,
    at: 0,
  };
  const declared = v.getUint32(C.numGDEntries, true);
  if (h.grainSize >= 1 && h.grainSize <= VmdkLimits.MAX_GRAIN_SECTORS && declared !== Math.ceil(Math.ceil(h.capacity / h.grainSize) / COWD_GTES)) {
    findings.push({ severity: 'warning', code: 'vmdk.cowd-gd-entries', message: `numGDEntries is ${declared}; ${h.capacity} sectors in grains of ${h.grainSize} need ${Math.ceil(Math.ceil(h.capacity / h.grainSize) / COWD_GTES)}`, offset: C.numGDEntries });
  }
  if (h.gdOffset * SECTOR < C.LENGTH) {
    throw new DiskProbeError(ErrorCode.CORRUPT, `COWDisk_Header.gdOffset = ${h.gdOffset} points into the 2048-byte header`, { ...where, structure: 'COWDisk_Header', field: 'gdOffset', offset: C.gdOffset, value: h.gdOffset, expected: `>= ${C.LENGTH / SECTOR}` });
  }
  validate({ ...h, version: 1 }, dev.size, { ...where, structure: 'COWDisk_Header' });
  return h;
}

/** A grain's place: not allocated, zeroed, a raw grain at a byte offset, or a compressed one. */
export type GrainEntry = { kind: 'unallocated' } | { kind: 'zero' } | { kind: 'data' | 'compressed'; offset: number };

const UNALLOCATED: GrainEntry = { kind: 'unallocated' };
const ZERO: GrainEntry = { kind: 'zero' };

/** One hosted sparse extent's grain directory and tables, and its grains. */
export class SparseExtent {
  readonly grainBytes: number;
  readonly compressed: boolean;
  readonly markers: boolean;
  private readonly gd: Uint32Array;
  private readonly gts = new Map<number, Promise<Uint32Array>>();
  /** The tables of `gts` that have arrived, for lookups without an await. */
  private readonly gtsReady = new Map<number, Uint32Array>();
  private readonly grains = new Map<number, Promise<Uint8Array>>();
  private readonly decoder: Decoder;

  private constructor(
    readonly dev: BlockDevice,
    readonly header: SparseHeader,
    gd: Uint32Array,
    codecs: Codecs,
    private readonly where: Where,
    /** Where compressed grains are read from: the file, or a block cache in front of it. */
    private readonly compressedSource: BlockDevice,
  ) {
    this.gd = gd;
    this.grainBytes = header.grainSize * SECTOR;
    this.compressed = (header.flags & SparseFlags.compressedGrains) !== 0;
    this.markers = (header.flags & SparseFlags.markers) !== 0;
    this.decoder = codecs.deflateRaw;
  }

  get size(): number {
    return this.header.capacity * SECTOR;
  }

  static async open(dev: BlockDevice, header: SparseHeader, codecs: Codecs, where: Where, compressedSource: BlockDevice, signal?: AbortSignal): Promise<SparseExtent> {
    const grains = Math.ceil(header.capacity / header.grainSize);
    const entries = Math.ceil(grains / header.numGTEsPerGT);
    const bytes = entries * 4;
    if (bytes > VmdkLimits.MAX_GD_BYTES) throw new DiskProbeError(ErrorCode.LIMIT, `the grain directory would be ${bytes} bytes (limit ${VmdkLimits.MAX_GD_BYTES})`, { ...where, structure: 'grain directory', value: bytes });
    const at = header.gdOffset * SECTOR;
    if (at + bytes > dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `the grain directory (${entries} entries at sector ${header.gdOffset}) runs past the end of the file`, { ...where, structure: 'grain directory', offset: at, value: bytes, expected: `<= ${dev.size - at}` });
    const raw = entries ? await dev.read(at, bytes, signal) : new Uint8Array(0);
    const gd = new Uint32Array(entries);
    const v = viewOf(raw);
    for (let i = 0; i < entries; i++) gd[i] = v.getUint32(i * 4, true);
    return new SparseExtent(dev, header, gd, codecs, where, compressedSource);
  }

  /** The grain table of directory entry `i`, validated against the file, from the cache or the device. */
  private table(i: number, signal?: AbortSignal): Promise<Uint32Array> | undefined {
    const sector = this.gd[i] ?? 0;
    if (sector === 0) return undefined;
    const hit = this.gts.get(sector);
    if (hit) return hit;
    const n = this.header.numGTEsPerGT;
    const at = sector * SECTOR;
    if (at + n * 4 > this.dev.size) {
      return Promise.reject(new DiskProbeError(ErrorCode.CORRUPT, `grain table ${i} (sector ${sector}) runs past the end of the file`, { ...this.where, structure: 'grain directory entry', offset: this.header.gdOffset * SECTOR + i * 4, value: sector }));
    }
    const loading = this.dev.read(at, n * 4, signal).then((raw) => {
      const v = viewOf(raw);
      const t = new Uint32Array(n);
      for (let k = 0; k < n; k++) t[k] = v.getUint32(k * 4, true);
      if (this.gts.get(sector) === loading) this.gtsReady.set(sector, t);
      return t;
    });
    loading.catch(() => this.gts.delete(sector));
    this.gts.set(sector, loading);
    if (this.gts.size > GT_CACHE) {
      const oldest = this.gts.keys().next().value!;
      this.gts.delete(oldest);
      this.gtsReady.delete(oldest);
    }
    return loading;
  }

  /** The grain directory's entry `i`: the sector of a grain table, or 0. */
  directoryEntry(i: number): number {
    return this.gd[i] ?? 0;
  }

  /** Where grain `g` is, without an await when its grain table is already here; else undefined. */
  entryNow(g: number): GrainEntry | undefined {
    const n = this.header.numGTEsPerGT;
    const sector = this.gd[Math.floor(g / n)] ?? 0;
    if (sector === 0) return UNALLOCATED;
    const t = this.gtsReady.get(sector);
    return t ? this.classify(g, t[g % n]!) : undefined;
  }

  /** Where grain `g` is. */
  async entry(g: number, signal?: AbortSignal): Promise<GrainEntry> {
    const now = this.entryNow(g);
    if (now) return now;
    const n = this.header.numGTEsPerGT;
    const t = this.table(Math.floor(g / n), signal);
    if (!t) return UNALLOCATED;
    return this.classify(g, (await t)[g % n]!);
  }

  private classify(g: number, sector: number): GrainEntry {
    if (sector === 0) return UNALLOCATED;
    if (sector === 1 && (this.header.flags & SparseFlags.zeroedGrainTableEntries || !this.compressed)) return ZERO;
    const offset = sector * SECTOR;
    const where = { ...this.where, structure: 'grain table entry', value: sector };
    if (offset >= this.dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g} is at sector ${sector}, past the end of the file`, where);
    if (!this.compressed && offset + this.grainBytes > this.dev.size) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g} at sector ${sector} runs past the end of the file`, { ...where, expected: `<= ${(this.dev.size - this.grainBytes) / SECTOR}` });
    }
    return { kind: this.compressed ? 'compressed' : 'data', offset };
  }

  /** A compressed grain, decompressed (a whole grain), from a small cache or the file. */
  grain(g: number, offset: number, signal?: AbortSignal): Promise<Uint8Array> {
    const hit = this.grains.get(offset);
    if (hit) return hit;
    const p = this.inflate(g, offset, signal);
    p.catch(() => this.grains.delete(offset));
    this.grains.set(offset, p);
    if (this.grains.size > GRAIN_CACHE) this.grains.delete(this.grains.keys().next().value!);
    return p;
  }

  private async inflate(g: number, offset: number, signal?: AbortSignal): Promise<Uint8Array> {
    const where = { ...this.where, structure: 'grain marker', offset };
    let input: Uint8Array;
    if (this.markers) {
      // The marker and, when its size is 0 (a metadata marker), the type after it.
      const head = viewOf(await this.compressedSource.read(offset, Math.max(0, Math.min(Marker.type + 4, this.dev.size - offset)), signal));
      if (head.byteLength < Marker.data) throw new DiskProbeError(ErrorCode.TRUNCATED, `grain ${g}'s marker is cut off by the end of the file`, where);
      const lba = head.getBigUint64(Marker.val, true);
      const size = head.getUint32(Marker.size, true);
      if (size === 0) {
        const type = head.byteLength >= Marker.type + 4 ? ` (type ${head.getUint32(Marker.type, true)})` : '';
        throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g} points at a metadata marker${type}, not a grain`, where);
      }
      if (size > 2 * this.grainBytes + 1024) throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g}'s compressed size ${size} is larger than a grain could compress to`, { ...where, field: 'size', value: size });
      if (offset + Marker.data + size > this.dev.size) throw new DiskProbeError(ErrorCode.TRUNCATED, `grain ${g}'s ${size} compressed bytes run past the end of the file`, { ...where, field: 'size', value: size });
      if (lba !== BigInt(g) * BigInt(this.header.grainSize)) {
        throw new DiskProbeError(ErrorCode.CORRUPT, `the grain marker says LBA ${lba}, but the grain table puts it at LBA ${g * this.header.grainSize}`, { ...where, field: 'val', value: Number(lba), expected: `${g * this.header.grainSize}` });
      }
      input = await this.compressedSource.read(offset + Marker.data, size, signal);
    } else {
      // No marker: the zlib stream starts at the grain; its length is not stored.
      input = await this.compressedSource.read(offset, Math.min(2 * this.grainBytes, this.dev.size - offset), signal);
    }
    // zlib (RFC 1950): CMF (deflate, window ≤ 32 KiB), FLG without a preset dictionary.
    if (input.length < 2 || (input[0]! & 0x0f) !== 8 || ((input[0]! << 8) | input[1]!) % 31 !== 0 || input[1]! & 0x20) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g} does not start with a zlib header`, { ...where, structure: 'compressed grain', value: input.length ? input[0]! : 0 });
    }
    const body = input.subarray(2);
    const out = new Uint8Array(this.grainBytes);
    try {
      await this.decoder(body, out);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      // A grain may expand to less than a whole grain (the last one of a disk): what is there
      // is the grain's start, the rest reads as zeros, as qemu reads it.
      let short: Uint8Array;
      try {
        short = inflateRawExpand(body, this.grainBytes).output;
      } catch {
        throw new DiskProbeError(ErrorCode.CORRUPT, `grain ${g} does not decompress: ${e.reason}`, { ...where, structure: 'compressed grain', cause: e });
      }
      out.fill(0);
      out.set(short);
    }
    return out;
  }
}
