/**
 * The qcow2 reader: maps guest ranges to host runs through the L1 and L2 tables, then reads
 * the runs. Reference: qemu docs/interop/qcow2.rst, "Cluster mapping", "Extended L2 Entries",
 * "Compressed Clusters Descriptor", "Snapshots"; qemu block/qcow2-cluster.c for where the
 * specification leaves behaviour to the implementation (reads past the end of a shorter
 * backing file are zeros; a compressed cluster's last sector may be cut by the end of file).
 */
import { DiskProbeError, ErrorCode, exact, u64, type Where } from '../../errors.js';
import { checkRead } from '../../device/check.js';
import type { BlockDevice } from '../../device/types.js';
import { readInto } from '../../device/read-into.js';
import { viewOf } from '../../util/bytes.js';
import { BufferPool } from '../../util/pool.js';
import type { Codecs, Decoder } from '../../codec/types.js';
import { browserCodecs } from '../../codec/index.js';
import type { Disk, FormatName, Finding, OpenOptions, Reference } from '../types.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { bit, readHeader, refuseEncrypted, type QCowHeaderInfo } from './header.js';
import { Autoclear, Compatible, compressedDescriptor, EntryBits as E, hostOffset, Incompatible, Limits, SnapshotEntry as S } from './layout.js';

/** An internal snapshot, as its table entry describes it. */
export interface Snapshot {
  id: string;
  name: string;
  /** When it was taken: seconds and nanoseconds since the epoch. */
  dateSec: number;
  dateNsec: number;
  /** How long the guest had run, in nanoseconds. */
  vmClockNsec: number;
  /** Bytes of saved VM state (0 for a disk-only snapshot). */
  vmStateSize: number;
  /** Virtual disk size when taken (the header's size if the entry does not say). */
  diskSize: number;
  l1TableOffset: number;
  l1Size: number;
  /** Record/replay instruction count, or -1 (absent or disabled). */
  icount: number;
  /** Offset of the entry in the file. */
  offset: number;
}

/** Sizes of the caches one image keeps. */
/** Decompressed clusters kept for reads that use part of one. */
const DECOMPRESSED_CACHE_CLUSTERS = 8;
/** Host bytes read in one go for several adjacent compressed clusters. */
const MAX_COMPRESSED_RUN = 4 * 1024 * 1024;
/** Device reads a single request keeps in flight before waiting for them. */
const MAX_IN_FLIGHT = 64;

/** qemu's names for formats in the backing-format extension, and diskprobe's. */
const BACKING_FORMATS: Record<string, FormatName> = { qcow2: 'qcow2', raw: 'raw', vmdk: 'vmdk', vpc: 'vhd', vhdx: 'vhdx', qcow: 'qcow' };

type OpenDisk = (dev: BlockDevice, options: OpenOptions) => Promise<Disk>;

/** A parsed qcow2 image: header, snapshots, backing disk; `disk()` gives its guest bytes. */
export class Qcow2Image {
  readonly source: BlockDevice;
  readonly header: QCowHeaderInfo;
  readonly snapshots: readonly Snapshot[];
  readonly findings: Finding[];
  readonly backing?: Disk;
  readonly dataFile?: BlockDevice;
  /** @internal */ readonly state: SharedState;
  private readonly activeL1: DataView;

  private constructor(
    source: BlockDevice,
    header: QCowHeaderInfo,
    l1: DataView,
    snapshots: Snapshot[],
    findings: Finding[],
    state: SharedState,
    backing?: Disk,
    dataFile?: BlockDevice,
  ) {
    this.source = source;
    this.header = header;
    this.activeL1 = l1;
    this.snapshots = snapshots;
    this.findings = findings;
    this.state = state;
    if (backing) this.backing = backing;
    if (dataFile) this.dataFile = dataFile;
  }

  /**
   * Reads the header, the active L1 table and the snapshot table, and opens the backing file
   * and external data file through `options.resolver`. `openDisk` opens backing files of other
   * formats; it is passed in to keep the format modules free of the registry.
   */
  static async open(dev: BlockDevice, options: OpenOptions, openDisk: OpenDisk, compressedSource: BlockDevice = dev): Promise<Qcow2Image> {
    const { signal } = options;
    const header = await readHeader(dev, signal);
    const f = header.fields;
    const where: Where = { layer: 'container', format: 'qcow2', device: dev.label };
    refuseEncrypted(header, where);
    const findings: Finding[] = [];
    if (bit(f.incompatible_features, Incompatible.dirty)) {
      findings.push({
        severity: 'warning',
        code: 'qcow2.dirty',
        message: `the dirty bit is set${bit(f.compatible_features, Compatible.lazyRefcounts) ? ' (lazy refcounts)' : ''}: the image was not closed cleanly and its refcounts may be inconsistent; qemu-img check -r all repairs it`,
        offset: 72,
      });
    }
    if (bit(f.incompatible_features, Incompatible.corrupt)) {
      findings.push({ severity: 'error', code: 'qcow2.corrupt', message: 'qemu marked this image corrupt: its metadata may be inconsistent', offset: 72 });
    }
    if (f.size % 512 !== 0) {
      findings.push({ severity: 'warning', code: 'qcow2.size-not-sectors', message: `virtual size ${f.size} is not a whole number of sectors; it is read as ${wholeSectors(f.size)}, as qemu does`, offset: 24 });
    }
    if (header.extensions.bitmaps && !bit(f.autoclear_features, Autoclear.bitmaps)) {
      findings.push({ severity: 'info', code: 'qcow2.bitmaps-inconsistent', message: 'the bitmaps extension is present but not marked consistent' });
    }

    const l1 = f.l1_size > 0 ? viewOf(await dev.read(f.l1_table_offset, f.l1_size * 8, signal)) : new DataView(new ArrayBuffer(0));
    const { snapshots } = await readSnapshotTable(dev, header, where, signal);

    const chain = options.chain ?? { depth: 0, seen: new Set<string>() };
    const self = identity(dev);
    if (chain.seen.has(self)) throw new DiskProbeError(ErrorCode.REFUSED, 'backing chain loops back to an image already in it', { ...where, structure: 'QCowHeader', field: 'backing_file_offset' });
    const nextChain = { depth: chain.depth + 1, seen: new Set([...chain.seen, self]) };

    let dataFile: BlockDevice | undefined;
    if (bit(f.incompatible_features, Incompatible.externalDataFile)) {
      const name = header.extensions.dataFile;
      if (name === undefined) {
        throw new DiskProbeError(ErrorCode.CORRUPT, 'the external data file bit is set but no data file name is stored', { ...where, structure: 'QCowHeader', field: 'incompatible_features', offset: 72 });
      }
      dataFile = await resolve(options, { name, kind: 'data-file', from: dev.label, fromDevice: dev }, where);
    }

    let backing: Disk | undefined;
    if (header.backingFile !== undefined && header.backingFile !== '') {
      const maxDepth = options.maxChainDepth ?? DEFAULT_LIMITS.maxChainDepth;
      if (nextChain.depth > maxDepth) {
        throw new DiskProbeError(ErrorCode.LIMIT, `backing chain deeper than ${maxDepth}`, { ...where, structure: 'QCowHeader', field: 'backing_file_offset', value: nextChain.depth, expected: `maxChainDepth ${maxDepth}` });
      }
      const declared = header.extensions.backingFormat;
      const format = declared === undefined ? undefined : BACKING_FORMATS[declared];
      if (declared !== undefined && format === undefined) {
        throw new DiskProbeError(ErrorCode.UNSUPPORTED, `backing file format "${declared}" is not one diskprobe reads`, { ...where, structure: 'HeaderExtension', field: 'backing format' });
      }
      const ref: Reference = { name: header.backingFile, kind: 'backing', from: dev.label, fromDevice: dev };
      if (format) ref.format = format;
      const backingDev = await resolve(options, ref, where);
      const backingOptions: OpenOptions = { ...options, chain: nextChain };
      // The snapshot named by the caller is this image's, not its backing file's.
      delete backingOptions.snapshot;
      if (format) backingOptions.format = format;
      else delete backingOptions.format;
      backing = await openDisk(backingDev, backingOptions);
    }

    const state = new SharedState(dev, header, options.codecs ?? browserCodecs, options.metadataCacheBytes ?? DEFAULT_LIMITS.metadataCacheBytes, backing, dataFile, compressedSource);
    return new Qcow2Image(dev, header, l1, snapshots, findings, state, backing, dataFile);
  }

  /** The guest-visible bytes of the active image. */
  disk(): Disk {
    return new Qcow2Disk(this, this.activeL1, wholeSectors(this.header.fields.size), undefined);
  }

  /** The guest-visible bytes of an internal snapshot, by id or name. */
  async snapshotDisk(idOrName: string, signal?: AbortSignal): Promise<Disk> {
    const snap = this.snapshots.find((s) => s.id === idOrName) ?? this.snapshots.find((s) => s.name === idOrName);
    if (!snap) {
      throw new DiskProbeError(ErrorCode.ARGUMENT, `no snapshot with id or name "${idOrName}"`, { layer: 'container', format: 'qcow2', device: this.source.label });
    }
    const where = { layer: 'container' as const, format: 'qcow2', device: this.source.label, structure: 'SnapshotEntry', offset: snap.offset };
    const cs = this.header.clusterSize;
    if (snap.l1TableOffset % cs !== 0 || snap.l1TableOffset + snap.l1Size * 8 > this.source.size || snap.l1Size * 8 > Limits.MAX_L1_BYTES) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'snapshot L1 table misaligned, too large or past the end of the file', { ...where, field: 'l1_table_offset', value: snap.l1TableOffset });
    }
    const l1 = snap.l1Size > 0 ? viewOf(await this.source.read(snap.l1TableOffset, snap.l1Size * 8, signal)) : new DataView(new ArrayBuffer(0));
    return new Qcow2Disk(this, l1, snap.diskSize, snap);
  }

  /** What `info` shows: header fields, extensions, snapshots, chain. */
  facts(): Record<string, unknown> {
    const f = this.header.fields;
    return {
      version: f.version,
      clusterSize: this.header.clusterSize,
      virtualSize: f.size,
      compressionType: this.header.compression,
      extendedL2: this.header.extendedL2,
      refcountBits: 2 ** f.refcount_order,
      lazyRefcounts: bit(f.compatible_features, Compatible.lazyRefcounts),
      dirty: bit(f.incompatible_features, Incompatible.dirty),
      corrupt: bit(f.incompatible_features, Incompatible.corrupt),
      incompatibleFeatures: `0x${f.incompatible_features.toString(16)}`,
      compatibleFeatures: `0x${f.compatible_features.toString(16)}`,
      autoclearFeatures: `0x${f.autoclear_features.toString(16)}`,
      headerLength: f.header_length,
      l1Size: f.l1_size,
      l1TableOffset: f.l1_table_offset,
      refcountTableOffset: f.refcount_table_offset,
      refcountTableClusters: f.refcount_table_clusters,
      backingFile: this.header.backingFile,
      backingFormat: this.header.extensions.backingFormat,
      dataFile: this.header.extensions.dataFile,
      dataFileRaw: bit(f.autoclear_features, Autoclear.rawExternalData),
      featureNames: this.header.extensions.featureNames,
      bitmaps: this.header.extensions.bitmaps,
      encryption: this.header.extensions.encryption,
      unknownExtensions: this.header.extensions.unknown,
      snapshots: this.snapshots.map(({ offset: _o, ...s }) => s),
    };
  }
}

/** What makes two sources the same file: the real path where there is one. */
function identity(dev: BlockDevice): string {
  return dev.path ?? dev.label;
}

async function resolve(options: OpenOptions, ref: Reference, where: Where): Promise<BlockDevice> {
  if (!options.resolver) {
    throw new DiskProbeError(ErrorCode.REFUSED, `the image refers to ${ref.kind === 'backing' ? 'a backing file' : 'an external data file'} "${ref.name}"; pass a resolver to read it`, {
      ...where,
      structure: 'QCowHeader',
      value: ref.name,
    });
  }
  return options.resolver(ref, options.signal);
}

/** A 64-bit field that only informs (a clock, a state size): exact below 2^53, close above. */
function informational(view: DataView, at: number): number {
  return Number(view.getBigUint64(at));
}

/** qemu presents whole sectors: a size that is not a multiple of 512 is rounded down. */
function wholeSectors(size: number): number {
  return size - (size % 512);
}

/**
 * Reads the snapshot table (qcow2.rst "Snapshots"), bounded by qemu's limits: the entries
 * and the table's length in bytes.
 */
export async function readSnapshotTable(
  dev: BlockDevice,
  header: QCowHeaderInfo,
  where: Where,
  signal?: AbortSignal,
): Promise<{ snapshots: Snapshot[]; length: number }> {
  const f = header.fields;
  if (f.nb_snapshots === 0) return { snapshots: [], length: 0 };
  const start = f.snapshots_offset;
  const available = Math.min(dev.size - start, Limits.MAX_SNAPSHOTS_BYTES);
  if (start >= dev.size || available <= 0) {
    throw new DiskProbeError(ErrorCode.CORRUPT, 'snapshot table starts past the end of the file', { ...where, structure: 'QCowHeader', field: 'snapshots_offset', offset: 64, value: start });
  }
  let window = await dev.read(start, Math.min(available, 64 * 1024), signal);
  const ensure = async (end: number) => {
    if (end <= window.length) return;
    if (end > available) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'snapshot table runs past the end of the file or qemu\'s size limit', { ...where, structure: 'SnapshotEntry', offset: start + end });
    }
    window = await dev.read(start, Math.min(available, Math.max(end, window.length * 2)), signal);
  };
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const out: Snapshot[] = [];
  let at = 0;
  for (let i = 0; i < f.nb_snapshots; i++) {
    await ensure(at + S.FIXED_LENGTH);
    let view = viewOf(window);
    const w = { ...where, structure: 'SnapshotEntry', offset: start + at };
    const idSize = view.getUint16(at + S.id_str_size);
    const nameSize = view.getUint16(at + S.name_size);
    const extra = view.getUint32(at + S.extra_data_size);
    if (extra > Limits.MAX_SNAPSHOT_EXTRA_DATA) throw new DiskProbeError(ErrorCode.LIMIT, 'snapshot extra data too large', { ...w, field: 'extra_data_size', value: extra, expected: `<= ${Limits.MAX_SNAPSHOT_EXTRA_DATA}` });
    const length = S.FIXED_LENGTH + extra + idSize + nameSize;
    await ensure(at + length);
    view = viewOf(window);
    const idAt = at + S.FIXED_LENGTH + extra;
    const snap: Snapshot = {
      id: decoder.decode(window.subarray(idAt, idAt + idSize)),
      name: decoder.decode(window.subarray(idAt + idSize, idAt + idSize + nameSize)),
      dateSec: view.getUint32(at + S.date_sec),
      dateNsec: view.getUint32(at + S.date_nsec),
      vmClockNsec: informational(view, at + S.vm_clock_nsec),
      vmStateSize: view.getUint32(at + S.vm_state_size),
      diskSize: wholeSectors(f.size),
      l1TableOffset: u64(view, at + S.l1_table_offset, false, { ...w, field: 'l1_table_offset' }),
      l1Size: view.getUint32(at + S.l1_size),
      icount: -1,
      offset: start + at,
    };
    if (extra >= 8) snap.vmStateSize = informational(view, at + S.vm_state_size_large);
    if (extra >= 16) snap.diskSize = wholeSectors(u64(view, at + S.disk_size, false, { ...w, field: 'disk_size', offset: start + at + S.disk_size }));
    if (extra >= 24) {
      const icount = view.getBigInt64(at + S.icount);
      snap.icount = icount < 0n || icount >= 2n ** 53n ? -1 : Number(icount);
    }
    out.push(snap);
    at += Math.ceil(length / 8) * 8;
  }
  return { snapshots: out, length: at };
}

/** Caches and devices shared by the active disk and snapshot disks of one image. */
class SharedState {
  readonly clusterSize: number;
  readonly clusterBits: number;
  readonly l2Entries: number;
  readonly entryBytes: number;
  readonly subclusterSize: number;
  readonly v3: boolean;
  readonly decoder: Decoder;
  /** Reads in flight on this image's disks: more than one tells decoders to use every core. */
  activeReads = 0;
  private readonly l2: Map<number, Promise<DataView>> = new Map();
  /** The tables of `l2` that have arrived, for lookups without an await. */
  private readonly l2Ready: Map<number, DataView> = new Map();
  private readonly maxL2: number;
  private readonly decompressed: Map<number, Promise<Uint8Array>> = new Map();
  /** Buffers compressed runs are read into. */
  readonly scratch = new BufferPool(64 * 1024, 4 * 1024 * 1024);

  constructor(
    readonly dev: BlockDevice,
    readonly header: QCowHeaderInfo,
    codecs: Codecs,
    metadataCacheBytes: number,
    readonly backing: Disk | undefined,
    readonly dataFile: BlockDevice | undefined,
    /** Where compressed clusters are read from: the file, or a cache in front of it. */
    readonly compressedSource: BlockDevice,
  ) {
    this.clusterBits = header.fields.cluster_bits;
    this.clusterSize = header.clusterSize;
    this.entryBytes = header.extendedL2 ? 16 : 8;
    this.l2Entries = this.clusterSize / this.entryBytes;
    this.subclusterSize = this.clusterSize / 32;
    this.v3 = header.fields.version >= 3;
    this.decoder = header.compression === 'zstd' ? codecs.zstd : codecs.deflateRaw;
    this.maxL2 = Math.max(4, Math.floor(metadataCacheBytes / this.clusterSize));
  }

  /** The L2 table at `offset`, validated against the file, from the cache or the device. */
  l2Table(offset: number, entryOffset: number): Promise<DataView> {
    const hit = this.l2.get(offset);
    if (hit) {
      this.l2.delete(offset);
      this.l2.set(offset, hit);
      return hit;
    }
    const where = { layer: 'container' as const, format: 'qcow2', device: this.dev.label, structure: 'L1 entry', offset: entryOffset, value: offset };
    if (offset % this.clusterSize !== 0) {
      return Promise.reject(new DiskProbeError(ErrorCode.CORRUPT, 'L2 table offset not aligned to a cluster', { ...where, expected: `a multiple of ${this.clusterSize}` }));
    }
    if (offset < this.clusterSize) return Promise.reject(new DiskProbeError(ErrorCode.CORRUPT, 'L2 table offset points into the header', where));
    if (offset + this.clusterSize > this.dev.size) {
      return Promise.reject(new DiskProbeError(ErrorCode.CORRUPT, 'L2 table lies past the end of the file', { ...where, expected: `<= ${this.dev.size - this.clusterSize}` }));
    }
    const loading = this.dev.read(offset, this.clusterSize).then((bytes) => {
      const view = viewOf(bytes);
      if (this.l2.get(offset) === loading) this.l2Ready.set(offset, view);
      return view;
    });
    loading.catch(() => this.l2.delete(offset));
    this.l2.set(offset, loading);
    while (this.l2.size > this.maxL2) {
      const oldest = this.l2.keys().next().value!;
      this.l2.delete(oldest);
      this.l2Ready.delete(oldest);
    }
    return loading;
  }

  /** The L2 table at `offset` if it is already in the cache (no await needed). */
  l2TableNow(offset: number): DataView | undefined {
    return this.l2Ready.get(offset);
  }

  /** A compressed cluster's bytes, decompressed, from a small cache or by decoding `input`. */
  cachedCluster(host: number): Promise<Uint8Array> | undefined {
    return this.decompressed.get(host);
  }

  remember(host: number, cluster: Promise<Uint8Array>): void {
    this.decompressed.set(host, cluster);
    cluster.catch(() => this.decompressed.delete(host));
    while (this.decompressed.size > DECOMPRESSED_CACHE_CLUSTERS) this.decompressed.delete(this.decompressed.keys().next().value!);
  }
}

/** A part of a compressed cluster wanted by a request. */
interface CompressedPart {
  host: number;
  length: number;
  /** Where in the cluster the wanted bytes start, how many, and where they go in the output. */
  inCluster: number;
  count: number;
  outAt: number;
  /** Offset of the L2 entry, for errors. */
  entryOffset: number;
}

/** One qcow2 L1 table's view of the guest: the active image or a snapshot. */
class Qcow2Disk implements Disk {
  readonly format = 'qcow2' as const;
  readonly subformat: string;
  readonly size: number;
  readonly label: string;
  readonly source: BlockDevice;
  readonly findings: Finding[];
  readonly backing?: Disk;
  private readonly s: SharedState;
  private readonly l1Entries: number;

  constructor(
    readonly image: Qcow2Image,
    private readonly l1: DataView,
    size: number,
    readonly snapshot: Snapshot | undefined,
  ) {
    this.s = image.state;
    this.size = size;
    this.label = snapshot ? `${image.source.label}@${snapshot.name || snapshot.id}` : image.source.label;
    this.source = image.source;
    this.subformat = `v${image.header.fields.version}`;
    this.findings = image.findings;
    this.l1Entries = l1.byteLength / 8;
    if (image.backing) this.backing = image.backing;
  }

  get facts(): Record<string, unknown> {
    return this.snapshot ? { ...this.image.facts(), snapshot: this.snapshot } : this.image.facts();
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('qcow2', this.label, this.size, offset, length, signal);
    if (length === 0) return new Uint8Array(0);
    return this.gather(offset, length, undefined, signal);
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkRead('qcow2', this.label, this.size, offset, target.length, signal);
    if (target.length > 0) await this.gather(offset, target.length, target, signal);
  }

  /**
   * Maps the request to host runs and reads them into `target`, or, without one, into a buffer
   * allocated when a second run or a zero range needs it: a request served by one run is then
   * handed the device's own buffer.
   */
  private async gather(offset: number, length: number, target: Uint8Array | undefined, signal: AbortSignal | undefined): Promise<Uint8Array> {
    let outBuffer: Uint8Array | undefined;
    const output = () => (outBuffer ??= target ?? new Uint8Array(length));
    const s = this.s;
    const cs = s.clusterSize;
    const end = offset + length;
    const pending: Promise<void>[] = [];
    const compressed: CompressedPart[] = [];
    // The run being gathered: contiguous host bytes (data) or contiguous guest bytes (backing).
    let runKind: 'data' | 'backing' | undefined;
    let runSource = 0;
    let runOut = 0;
    let runLength = 0;

    const start = (p: Promise<void>) => {
      // Handled now, awaited later: a failure must not surface as an unhandled rejection
      // while the loop is still waiting for an L2 table.
      p.catch(() => undefined);
      pending.push(p);
    };
    const flushRun = () => {
      if (runKind === 'data') start(this.readData(runSource, runLength, output(), runOut, signal));
      else if (runKind === 'backing') start(this.readBacking(runSource, runLength, output(), runOut, signal));
      runKind = undefined;
    };
    const add = (kind: 'data' | 'backing' | 'zero', source: number, outAt: number, n: number) => {
      if (kind === runKind && runSource + runLength === source && runOut + runLength === outAt) {
        runLength += n;
        return;
      }
      if (runKind) flushRun();
      if (kind === 'zero') {
        // A fresh buffer is zeros already; the caller's is not.
        if (target) target.fill(0, outAt, outAt + n);
        else output();
        return;
      }
      runKind = kind;
      runSource = source;
      runOut = outAt;
      runLength = n;
    };

    let pos = offset;
    while (pos < end) {
      if (pending.length >= MAX_IN_FLIGHT) await Promise.all(pending.splice(0));
      const cluster = Math.floor(pos / cs);
      const inCluster = pos - cluster * cs;
      const clusterEnd = Math.min(end, (cluster + 1) * cs);
      const l1Index = Math.floor(cluster / s.l2Entries);
      const l2Index = cluster - l1Index * s.l2Entries;
      const l2Offset = l1Index < this.l1Entries ? this.l1Offset(l1Index) : 0;
      if (l2Offset === 0) {
        // No L2 table: every cluster it would map is unallocated.
        const tableEnd = Math.min(end, (l1Index + 1) * s.l2Entries * cs);
        add(this.backing ? 'backing' : 'zero', pos, pos - offset, tableEnd - pos);
        pos = tableEnd;
        continue;
      }
      const l1EntryOffset = this.l1EntryOffset(l1Index);
      const table = s.l2TableNow(l2Offset) ?? (await s.l2Table(l2Offset, l1EntryOffset));
      const at = l2Index * s.entryBytes;
      const hi = table.getUint32(at);
      const lo = table.getUint32(at + 4);
      const entryOffset = l2Offset + at;
      if (hi & E.COMPRESSED_HI) {
        const [host, hostLength] = this.compressedDescriptor(hi, lo, entryOffset);
        if (runKind) flushRun();
        compressed.push({ host, length: hostLength, inCluster, count: clusterEnd - pos, outAt: pos - offset, entryOffset });
        pos = clusterEnd;
        continue;
      }
      const host = hostOffset(hi, lo);
      const allocated = host !== 0 || ((hi & E.COPIED_HI) !== 0 && s.dataFile !== undefined);
      if (!s.header.extendedL2) {
        if (!s.v3 && lo & E.ZERO_LO) {
          // Version 2 has no zero flag; qemu fails such a read rather than guess.
          throw new DiskProbeError(ErrorCode.CORRUPT, 'zero flag set in a version 2 image', { ...this.where('L2 entry', entryOffset), value: `0x${lo.toString(16)}` });
        }
        if (s.v3 && lo & E.ZERO_LO) add('zero', 0, pos - offset, clusterEnd - pos);
        else if (!allocated) add(this.backing ? 'backing' : 'zero', pos, pos - offset, clusterEnd - pos);
        else add('data', this.checkHost(host, entryOffset) + inCluster, pos - offset, clusterEnd - pos);
        pos = clusterEnd;
        continue;
      }
      // Extended L2: 32 subclusters, each allocated, zero, or unallocated (qcow2.rst).
      const zeroBits = table.getUint32(at + 8);
      const allocBits = table.getUint32(at + 12);
      const sc = s.subclusterSize;
      while (pos < clusterEnd) {
        const within = pos - cluster * cs;
        const index = Math.floor(within / sc);
        const stop = Math.min(clusterEnd, cluster * cs + (index + 1) * sc);
        const isAlloc = (allocBits >>> index) & 1;
        const isZero = (zeroBits >>> index) & 1;
        if (isAlloc && isZero) {
          throw new DiskProbeError(ErrorCode.CORRUPT, `subcluster ${index} is marked both allocated and zero`, { layer: 'container', format: 'qcow2', device: this.label, structure: 'Extended L2 entry', offset: entryOffset });
        }
        if (isAlloc) {
          if (!allocated) throw new DiskProbeError(ErrorCode.CORRUPT, `subcluster ${index} is allocated but the cluster has no host offset`, { layer: 'container', format: 'qcow2', device: this.label, structure: 'Extended L2 entry', offset: entryOffset });
          add('data', this.checkHost(host, entryOffset) + within, pos - offset, stop - pos);
        } else if (isZero) add('zero', 0, pos - offset, stop - pos);
        else add(this.backing ? 'backing' : 'zero', pos, pos - offset, stop - pos);
        pos = stop;
      }
    }
    if (runKind && runOut === 0 && runLength === length && pending.length === 0 && compressed.length === 0 && !outBuffer) {
      // One run covers the whole request: no copy.
      const source = runKind === 'data' ? (s.dataFile ?? s.dev) : this.backing!;
      if (runSource + length <= source.size) {
        if (!target) return source.read(runSource, length, signal);
        await readInto(source, runSource, target, signal);
        return target;
      }
    }
    if (runKind) flushRun();
    if (compressed.length) {
      s.activeReads++;
      start(this.readCompressed(compressed, output(), signal).finally(() => s.activeReads--));
    }
    await Promise.all(pending);
    return output();
  }

  private l1Offset(index: number): number {
    const hi = this.l1.getUint32(index * 8);
    const lo = this.l1.getUint32(index * 8 + 4);
    return hostOffset(hi, lo);
  }

  private l1EntryOffset(index: number): number {
    const base = this.snapshot ? this.snapshot.l1TableOffset : this.image.header.fields.l1_table_offset;
    return base + index * 8;
  }

  private where(structure: string, offset: number): Where {
    return { layer: 'container', format: 'qcow2', device: this.label, structure, offset };
  }

  /** A standard cluster's host offset, checked: aligned, not in the header, inside its file. */
  private checkHost(host: number, entryOffset: number): number {
    const s = this.s;
    if (host % s.clusterSize !== 0) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'data cluster offset not aligned to a cluster', { ...this.where('L2 entry', entryOffset), value: host, expected: `a multiple of ${s.clusterSize}` });
    }
    const file = s.dataFile ?? s.dev;
    if (!s.dataFile && host < s.clusterSize) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'L2 entry points into the header', { ...this.where('L2 entry', entryOffset), value: host });
    }
    if (host >= file.size) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `data cluster lies past the end of the ${s.dataFile ? 'data file' : 'file'}`, {
        ...this.where('L2 entry', entryOffset),
        value: host,
        expected: `< ${file.size}`,
      });
    }
    return host;
  }

  /** Host offset and byte length of a compressed cluster (qcow2.rst "Compressed Clusters Descriptor"). */
  private compressedDescriptor(hi: number, lo: number, entryOffset: number): [number, number] {
    const s = this.s;
    const { host, length } = compressedDescriptor(hi, lo, s.clusterBits);
    const where = this.where('Compressed cluster descriptor', entryOffset);
    exact(host, where);
    if (host < s.clusterSize) throw new DiskProbeError(ErrorCode.CORRUPT, 'compressed cluster points into the header', { ...where, value: host });
    // The last sector of the last compressed cluster may be cut short by the end of the file.
    if (host + length - s.dev.size >= 512 || host >= s.dev.size) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'compressed cluster runs past the end of the file', { ...where, value: host, expected: `${host} + ${length} <= ${s.dev.size}` });
    }
    return [host, Math.min(length, s.dev.size - host)];
  }

  private readData(host: number, n: number, out: Uint8Array, outAt: number, signal?: AbortSignal): Promise<void> {
    // A cluster at the end of the file may be cut short: what is missing reads as zeros.
    return readPadded(this.s.dataFile ?? this.s.dev, host, out.subarray(outAt, outAt + n), signal);
  }

  private readBacking(guest: number, n: number, out: Uint8Array, outAt: number, signal?: AbortSignal): Promise<void> {
    // A backing file shorter than the overlay reads as zeros past its end, as qemu does.
    return readPadded(this.backing!, guest, out.subarray(outAt, outAt + n), signal);
  }

  /** Reads compressed clusters: adjacent ones in one host read, then decodes each. */
  private async readCompressed(parts: CompressedPart[], out: Uint8Array, signal?: AbortSignal): Promise<void> {
    const s = this.s;
    const cs = s.clusterSize;
    const toRead: CompressedPart[] = [];
    const work: Promise<void>[] = [];
    for (const part of parts) {
      const hit = s.cachedCluster(part.host);
      if (hit) work.push(hit.then((cluster) => out.set(cluster.subarray(part.inCluster, part.inCluster + part.count), part.outAt)));
      else toRead.push(part);
    }
    toRead.sort((a, b) => a.host - b.host);
    let i = 0;
    while (i < toRead.length) {
      const first = i;
      let runEnd = toRead[i]!.host + toRead[i]!.length;
      while (i + 1 < toRead.length && toRead[i + 1]!.host <= runEnd + 512 && toRead[i + 1]!.host + toRead[i + 1]!.length - toRead[first]!.host <= MAX_COMPRESSED_RUN) {
        i++;
        runEnd = Math.max(runEnd, toRead[i]!.host + toRead[i]!.length);
      }
      i++;
      const group = toRead.slice(first, i);
      const start = group[0]!.host;
      // Read into a pooled buffer, returned once every decode of the group is done with it.
      const scratch = s.scratch.take(runEnd - start);
      const input = scratch.subarray(0, runEnd - start);
      const bytes = readInto(s.compressedSource, start, input, signal).then(() => input);
      const decodes: Promise<unknown>[] = [];
      for (const part of group) {
        const whole = part.inCluster === 0 && part.count === cs;
        const decoded = bytes.then(async (run) => {
          const target = whole ? out.subarray(part.outAt, part.outAt + cs) : new Uint8Array(cs);
          await this.decode(run.subarray(part.host - start, part.host - start + part.length), target, part, s.activeReads > 1 || parts.length > 1);
          return target;
        });
        decodes.push(decoded);
        if (whole) work.push(decoded.then(() => undefined));
        else {
          s.remember(part.host, decoded);
          work.push(decoded.then((cluster) => out.set(cluster.subarray(part.inCluster, part.inCluster + part.count), part.outAt)));
        }
      }
      void Promise.allSettled(decodes).then(() => s.scratch.give(scratch));
    }
    await Promise.all(work);
  }

  private async decode(input: Uint8Array, target: Uint8Array, part: CompressedPart, concurrent: boolean): Promise<void> {
    try {
      await this.s.decoder(input, target, { concurrent });
    } catch (cause) {
      const reason = cause instanceof DiskProbeError ? cause.reason : String(cause);
      throw new DiskProbeError(ErrorCode.CORRUPT, `compressed cluster does not decode: ${reason}`, {
        ...this.where('Compressed cluster', part.host),
        value: `${part.length} bytes`,
        cause,
      });
    }
  }
}

/** Reads `out.length` bytes of `dev` from `at`; what lies past the device's end reads as zeros. */
async function readPadded(dev: BlockDevice, at: number, out: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
  const available = Math.max(0, Math.min(out.length, dev.size - at));
  if (available > 0) await readInto(dev, at, available === out.length ? out : out.subarray(0, available), signal);
  if (available < out.length) out.fill(0, available);
}
