/**
 * A read-only consistency check of a qcow2 image's metadata, counting what `qemu-img check`
 * counts: every host cluster's stored refcount against the references the tables actually
 * make (a stored count above the references is a leak, below them a corruption), the
 * "copied" flag of the active tables against the stored refcounts, table and data offsets
 * that are unaligned or past the end of the file, and compressed descriptors out of bounds.
 * Reference: qemu docs/interop/qcow2.rst ("Host cluster management", "Cluster mapping",
 * "Snapshots", "Bitmaps"); what is counted where follows qemu block/qcow2-refcount.c.
 */
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import type { BlockDevice } from '../../device/types.js';
import { viewOf } from '../../util/bytes.js';
import type { Finding } from '../types.js';
import { bit, readHeader } from './header.js';
import { compressedDescriptor, EntryBits as E, hostOffset, Incompatible } from './layout.js';
import { readSnapshotTable, type Snapshot } from './reader.js';

/** What the check found, with qemu-img check's field names where they have one. */
export interface IntegrityReport {
  format: 'qcow2';
  /** Refcounts below the references made, and structural errors (qemu's "corruptions"). */
  corruptions: number;
  /** Clusters whose refcount is above the references made (qemu's "leaks"). */
  leaks: number;
  /** Structures that could not be read at all. */
  checkErrors: number;
  /** End of the last cluster in use (qemu's "image-end-offset"). */
  imageEndOffset: number;
  /** Guest clusters in the virtual disk, and how many are allocated, compressed, fragmented. */
  totalClusters: number;
  allocatedClusters: number;
  compressedClusters: number;
  fragmentedClusters: number;
  /** The first findings (at most MAX_FINDINGS), each with its offset. */
  findings: Finding[];
}

/** Host clusters the check will track; larger files are refused with E_LIMIT. */
export const MAX_CHECK_CLUSTERS = 16 * 1024 * 1024;
/**
 * Table entries the check visits, at most (L2 entries once per L1 entry that points at their
 * table, refcount and bitmap entries): 1 TiB at 64 KiB clusters is 16 Mi entries. A crafted
 * file whose L1 entries all point at one table would otherwise cost work without bound.
 */
export const MAX_CHECK_ENTRIES = 256 * 1024 * 1024;
/** Findings listed in detail; the counts go on. */
const MAX_FINDINGS = 100;
const SATURATED = 0xffff;

/** Checks the metadata of the qcow2 image in `dev`. Reads only metadata; never writes. */
export async function checkIntegrity(dev: BlockDevice, options: { signal?: AbortSignal; maxEntries?: number } = {}): Promise<IntegrityReport> {
  const { signal } = options;
  const maxEntries = options.maxEntries ?? MAX_CHECK_ENTRIES;
  let entries = 0;
  const work = (n: number) => {
    entries += n;
    if (entries > maxEntries) {
      throw new DiskProbeError(ErrorCode.LIMIT, `the check visited more than ${maxEntries} table entries (tables referenced over and over?)`, where);
    }
  };
  const header = await readHeader(dev, signal);
  const f = header.fields;
  const cs = header.clusterSize;
  const where: Where = { layer: 'container', format: 'qcow2', device: dev.label };
  const fileClusters = Math.ceil(dev.size / cs);
  if (fileClusters > MAX_CHECK_CLUSTERS) {
    throw new DiskProbeError(ErrorCode.LIMIT, `the file has ${fileClusters} clusters; the check tracks at most ${MAX_CHECK_CLUSTERS}`, where);
  }
  const report: IntegrityReport = {
    format: 'qcow2',
    corruptions: 0,
    leaks: 0,
    checkErrors: 0,
    imageEndOffset: 0,
    totalClusters: Math.ceil(f.size / cs),
    allocatedClusters: 0,
    compressedClusters: 0,
    fragmentedClusters: 0,
    findings: [],
  };
  const note = (severity: Finding['severity'], code: string, message: string, offset?: number) => {
    if (report.findings.length < MAX_FINDINGS) report.findings.push(offset === undefined ? { severity, code, message } : { severity, code, message, offset });
  };
  const corrupt = (code: string, message: string, offset?: number) => {
    report.corruptions++;
    note('error', code, message, offset);
  };

  // References may point past the end of the file; track a little beyond it.
  const tracked = fileClusters + 1;
  const refs = new Uint16Array(tracked);
  const stored = new Uint16Array(tracked);
  const mark = (offset: number, length: number, what: string, from: number) => {
    if (length <= 0) return;
    const first = Math.floor(offset / cs);
    const last = Math.floor((offset + length - 1) / cs);
    if (last >= fileClusters) {
      corrupt('qcow2.past-end', `${what} at ${offset} lies past the end of the file`, from);
      return;
    }
    for (let c = first; c <= last; c++) if (refs[c]! < SATURATED) refs[c]!++;
  };
  const read = async (offset: number, length: number, what: string, from: number): Promise<DataView | undefined> => {
    if (offset + length > dev.size) {
      corrupt('qcow2.past-end', `${what} at ${offset} runs past the end of the file`, from);
      return undefined;
    }
    try {
      return viewOf(await dev.read(offset, length, signal));
    } catch (e) {
      if (e instanceof DiskProbeError && e.code === ErrorCode.ABORTED) throw e;
      report.checkErrors++;
      note('error', 'qcow2.read-error', `${what} at ${offset} could not be read: ${(e as Error).message}`, from);
      return undefined;
    }
  };

  // 1. Stored refcounts: the refcount table and its blocks.
  const refcountBits = 2 ** f.refcount_order;
  const blockEntries = (cs * 8) / refcountBits;
  const tableBytes = f.refcount_table_clusters * cs;
  mark(f.refcount_table_offset, tableBytes, 'refcount table', 48);
  const refTable = await read(f.refcount_table_offset, Math.min(tableBytes, Math.max(0, dev.size - f.refcount_table_offset)), 'refcount table', 48);
  if (refTable) {
    // A table cut by the end of the file may end in part of an entry: only whole entries.
    for (let i = 0; (i + 1) * 8 <= refTable.byteLength; i++) {
      const hi = refTable.getUint32(i * 8);
      const lo = refTable.getUint32(i * 8 + 4);
      const block = hi * 0x1_0000_0000 + ((lo & 0xffff_fe00) >>> 0);
      if (block === 0) continue;
      const entryOffset = f.refcount_table_offset + i * 8;
      if (block % cs !== 0 || (lo & 0x1ff) !== 0) {
        corrupt('qcow2.refblock-unaligned', `refcount block offset ${block} is not cluster-aligned`, entryOffset);
        continue;
      }
      mark(block, cs, 'refcount block', entryOffset);
      const base = i * blockEntries;
      // A block for clusters past the end of the file refers to nothing the check tracks.
      if (base >= tracked) continue;
      work(blockEntries);
      const data = block + cs <= dev.size ? await read(block, cs, 'refcount block', entryOffset) : undefined;
      if (!data) continue;
      for (let k = 0; k < blockEntries && base + k < tracked; k++) {
        const value = refcountAt(data, k, refcountBits);
        stored[base + k] = value > SATURATED ? SATURATED : value;
      }
    }
  }

  // 2. References: header, tables, and the clusters they map.
  mark(0, cs, 'header', 0);
  const external = bit(f.incompatible_features, Incompatible.externalDataFile);
  const entryBytes = header.extendedL2 ? 16 : 8;
  let nextContiguous = -1;
  // The last few L2 tables read: shared tables (snapshots) are read once, not once per L1.
  const recent = new Map<number, DataView>();

  const walkL1 = async (l1Offset: number, l1Size: number, active: boolean, from: number) => {
    if (l1Size === 0) return;
    mark(l1Offset, l1Size * 8, 'L1 table', from);
    const l1 = await read(l1Offset, l1Size * 8, 'L1 table', from);
    if (!l1) return;
    for (let i = 0; i < l1Size; i++) {
      const hi = l1.getUint32(i * 8);
      const lo = l1.getUint32(i * 8 + 4);
      const l2 = hostOffset(hi, lo);
      const entryOffset = l1Offset + i * 8;
      if (l2 === 0) continue;
      if ((lo & E.L1_RESERVED_LO) !== 0 || (hi & E.L1_RESERVED_HI) !== 0) corrupt('qcow2.l1-reserved', 'L1 entry has reserved bits set', entryOffset);
      if (l2 % cs !== 0) {
        corrupt('qcow2.l2-unaligned', `L2 table offset ${l2} is not cluster-aligned`, entryOffset);
        continue;
      }
      if (l2 < cs) {
        corrupt('qcow2.l2-in-header', 'L2 table offset points into the header', entryOffset);
        continue;
      }
      mark(l2, cs, 'L2 table', entryOffset);
      if (active) checkCopied(hi, l2, entryOffset, 'L1');
      work(cs / entryBytes);
      const table = recent.get(l2) ?? (await read(l2, cs, 'L2 table', entryOffset));
      if (!table) continue;
      recent.set(l2, table);
      if (recent.size > 16) recent.delete(recent.keys().next().value!);
      // Fragmentation is judged within each L2 table.
      nextContiguous = -1;
      for (let j = 0; j < cs / entryBytes; j++) {
        const ehi = table.getUint32(j * entryBytes);
        const elo = table.getUint32(j * entryBytes + 4);
        const at = l2 + j * entryBytes;
        if (ehi & E.COMPRESSED_HI) {
          const { host, length } = compressedDescriptor(ehi, elo, f.cluster_bits);
          if (host + length - dev.size >= 512) corrupt('qcow2.compressed-past-end', `compressed cluster at ${host} (+${length}) runs past the end of the file`, at);
          else mark(host, Math.min(length, dev.size - host), 'compressed cluster', at);
          if (active) {
            // Compressed clusters count as fragmented: their data shares sectors (qemu does too).
            report.allocatedClusters++;
            report.compressedClusters++;
            report.fragmentedClusters++;
          }
          continue;
        }
        const host = hostOffset(ehi, elo);
        if ((elo & E.L2_RESERVED_LO) !== 0 || (ehi & E.L2_RESERVED_HI) !== 0) corrupt('qcow2.l2-reserved', 'L2 entry has reserved bits set', at);
        const zero = !header.extendedL2 && f.version >= 3 && (elo & E.ZERO_LO) !== 0;
        const allocated = host !== 0 || (external && (ehi & E.COPIED_HI) !== 0);
        if (!allocated) continue;
        if (host % cs !== 0) {
          corrupt('qcow2.data-unaligned', `data cluster offset ${host} is not cluster-aligned`, at);
          continue;
        }
        // A zero cluster with a host offset (preallocated) is allocated like a data cluster.
        if (active) {
          report.allocatedClusters++;
          if (nextContiguous >= 0 && host !== nextContiguous) report.fragmentedClusters++;
          nextContiguous = host + cs;
        }
        // Clusters in an external data file are not refcounted.
        if (external) continue;
        if (host < cs) {
          corrupt('qcow2.data-in-header', 'L2 entry points into the header', at);
          continue;
        }
        mark(host, cs, zero ? 'preallocated zero cluster' : 'data cluster', at);
        if (active) checkCopied(ehi, host, at, 'L2');
      }
    }
  };

  // The "copied" flag (bit 63) of the active tables must say whether the refcount is one.
  const checkCopied = (hi: number, host: number, at: number, table: string) => {
    const c = Math.floor(host / cs);
    if (c >= tracked) return;
    const copied = (hi & E.COPIED_HI) !== 0;
    const one = stored[c] === 1;
    if (copied !== one) corrupt('qcow2.oflag-copied', `${table} entry's copied flag is ${copied ? 'set' : 'clear'} but the refcount is ${stored[c]}`, at);
  };

  await walkL1(f.l1_table_offset, f.l1_size, true, 40);

  let snapshots: Snapshot[] = [];
  try {
    const table = await readSnapshotTable(dev, header, where, signal);
    snapshots = table.snapshots;
    mark(f.snapshots_offset, table.length, 'snapshot table', 64);
  } catch (e) {
    if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
    corrupt('qcow2.snapshot-table', `snapshot table: ${e.reason}`, 64);
  }
  for (const snap of snapshots) {
    if (snap.l1TableOffset % cs !== 0) {
      corrupt('qcow2.snapshot-l1-unaligned', `snapshot "${snap.name}" L1 table is not cluster-aligned`, snap.offset);
      continue;
    }
    await walkL1(snap.l1TableOffset, snap.l1Size, false, snap.offset);
  }

  const bitmaps = header.extensions.bitmaps;
  if (bitmaps) await markBitmaps(dev, bitmaps, cs, mark, read, corrupt, work);
  const encryption = header.extensions.encryption;
  if (encryption) mark(encryption.offset, encryption.length, 'encryption header', 0);

  // 3. Compare.
  let highest = -1;
  for (let c = 0; c < tracked; c++) {
    const s = stored[c]!;
    const r = refs[c]!;
    if (s > 0 || r > 0) highest = c;
    if (s === r) continue;
    if (s < r) corrupt('qcow2.refcount-low', `cluster ${c} has refcount ${s} but ${r} references`, c * cs);
    else {
      report.leaks++;
      note('warning', 'qcow2.leak', `cluster ${c} has refcount ${s} but ${r} references (leaked)`, c * cs);
    }
  }
  report.imageEndOffset = (highest + 1) * cs;
  return report;
}

/** A refcount block entry of `bits` width (qcow2.rst: sub-byte widths count from bit 0). */
function refcountAt(block: DataView, index: number, bits: number): number {
  switch (bits) {
    case 64:
      return block.getUint32(index * 8) !== 0 ? SATURATED + 1 : block.getUint32(index * 8 + 4);
    case 32:
      return block.getUint32(index * 4);
    case 16:
      return block.getUint16(index * 2);
    case 8:
      return block.getUint8(index);
    default: {
      const bitOffset = index * bits;
      const byte = block.getUint8(bitOffset >>> 3);
      return (byte >>> (bitOffset & 7)) & ((1 << bits) - 1);
    }
  }
}

type Mark = (offset: number, length: number, what: string, from: number) => void;
type Read = (offset: number, length: number, what: string, from: number) => Promise<DataView | undefined>;

/** Marks the bitmap directory, tables and data clusters (qcow2.rst "Bitmaps"). */
async function markBitmaps(
  dev: BlockDevice,
  ext: { count: number; directorySize: number; directoryOffset: number },
  cs: number,
  mark: Mark,
  read: Read,
  corrupt: (code: string, message: string, offset?: number) => void,
  work: (entries: number) => void,
): Promise<void> {
  if (ext.directorySize > 64 * 1024 * 1024 || ext.count > 65535) {
    corrupt('qcow2.bitmaps-limit', 'bitmap directory larger than qemu allows');
    return;
  }
  mark(ext.directoryOffset, ext.directorySize, 'bitmap directory', 0);
  const dir = await read(ext.directoryOffset, ext.directorySize, 'bitmap directory', 0);
  if (!dir) return;
  let at = 0;
  for (let i = 0; i < ext.count && at + 24 <= dir.byteLength; i++) {
    const tableOffset = dir.getUint32(at) * 0x1_0000_0000 + dir.getUint32(at + 4);
    const tableSize = dir.getUint32(at + 8);
    const nameSize = dir.getUint16(at + 18);
    const extra = dir.getUint32(at + 20);
    if (tableSize * 8 > 64 * 1024 * 1024) {
      corrupt('qcow2.bitmaps-limit', 'bitmap table larger than qemu allows', ext.directoryOffset + at);
      return;
    }
    work(tableSize);
    mark(tableOffset, tableSize * 8, 'bitmap table', ext.directoryOffset + at);
    const table = await read(tableOffset, tableSize * 8, 'bitmap table', ext.directoryOffset + at);
    if (table) {
      for (let k = 0; k < tableSize; k++) {
        const hi = table.getUint32(k * 8);
        const lo = table.getUint32(k * 8 + 4);
        const data = hostOffset(hi, lo);
        if (data !== 0) mark(data, cs, 'bitmap data', tableOffset + k * 8);
      }
    }
    at += Math.ceil((24 + extra + nameSize) / 8) * 8;
  }
  void dev;
}
