/**
 * VHDX disks. Reference: [MS-VHDX] v20180912: 2.2.2 headers (the current one is the valid
 * header with the larger SequenceNumber; CRC-32C over the 4 KiB header with its Checksum field
 * zero), 2.2.3 region tables (CRC-32C over 64 KiB), 2.5 the BAT (payload entries, one sector
 * bitmap entry after every chunk ratio of them; state in bits 0-2, FileOffsetMB in bits 20-63),
 * 2.6 the metadata region (file parameters, virtual disk size, sector sizes, page 83 data).
 * A log to replay is replayed in memory (log.ts); a differencing disk reads what it does not
 * hold (not present blocks, and the clear bits of partially present ones) from its parent.
 */
import { checkRead } from '../../device/check.js';
import { readInto } from '../../device/read-into.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, u64, type Where } from '../../errors.js';
import { crc32cUpdate } from '../../util/crc32c.js';
import { guidString, hasBytes, viewOf } from '../../util/bytes.js';
import { replayLog } from './log.js';
import type { Disk, Finding, OpenOptions } from '../types.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import {
  FILE_SIGNATURE,
  FileParametersFlags,
  Guids,
  HEADER_OFFSETS,
  HEADER_SIGNATURE,
  METADATA_SIGNATURE,
  MetadataTableEntry as ME,
  MetadataTableHeader as MH,
  REGION_TABLE_LENGTH,
  REGION_TABLE_OFFSETS,
  REGION_TABLE_SIGNATURE,
  RegionTableEntry as RE,
  RegionTableHeader as RH,
} from './layout.js';

const KiB = 1024;
const MiB = 1024 * 1024;
/** [MS-VHDX] 2.2.2 Header: field offsets (4 KiB). */
const Hdr = { Signature: 0, Checksum: 4, SequenceNumber: 8, FileWriteGuid: 16, DataWriteGuid: 32, LogGuid: 48, LogVersion: 64, Version: 66, LogLength: 68, LogOffset: 72, LENGTH: 4 * KiB } as const;
/** [MS-VHDX] 2.5.1 BAT entry states. */
const State = { NOT_PRESENT: 0, UNDEFINED: 1, ZERO: 2, UNMAPPED: 3, FULLY_PRESENT: 6, PARTIALLY_PRESENT: 7 } as const;
const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
/** The BAT read at most. */
const MAX_BAT_BYTES = 256 * MiB;

function crcOk(b: Uint8Array, checksumAt: number): boolean {
  const stored = viewOf(b).getUint32(checksumAt, true);
  let c = crc32cUpdate(0xffffffff, b, 0, checksumAt);
  c = crc32cUpdate(c, new Uint8Array(4));
  c = crc32cUpdate(c, b, checksumAt + 4);
  return (~c >>> 0) === stored;
}

interface HeaderInfo {
  at: number;
  sequence: bigint;
  logGuid: string;
  dataWriteGuid: string;
  fileWriteGuid: string;
  version: number;
  logVersion: number;
  logLength: number;
  logOffset: number;
}

async function readHeaders(dev: BlockDevice, where: Where, findings: Finding[], signal?: AbortSignal): Promise<HeaderInfo> {
  const valid: HeaderInfo[] = [];
  for (const at of HEADER_OFFSETS) {
    if (at + Hdr.LENGTH > dev.size) continue;
    const b = await dev.read(at, Hdr.LENGTH, signal);
    if (!hasBytes(b, 0, HEADER_SIGNATURE)) {
      findings.push({ severity: 'warning', code: 'vhdx.header-signature', message: `the header at ${at / KiB} KiB has no "head" signature`, offset: at });
      continue;
    }
    if (!crcOk(b, Hdr.Checksum)) {
      findings.push({ severity: 'warning', code: 'vhdx.header-checksum', message: `the header at ${at / KiB} KiB fails its CRC-32C`, offset: at + Hdr.Checksum });
      continue;
    }
    const v = viewOf(b);
    valid.push({
      at,
      sequence: v.getBigUint64(Hdr.SequenceNumber, true),
      fileWriteGuid: guidString(b, Hdr.FileWriteGuid),
      dataWriteGuid: guidString(b, Hdr.DataWriteGuid),
      logGuid: guidString(b, Hdr.LogGuid),
      logVersion: v.getUint16(Hdr.LogVersion, true),
      version: v.getUint16(Hdr.Version, true),
      logLength: v.getUint32(Hdr.LogLength, true),
      logOffset: u64(v, Hdr.LogOffset, true, { ...where, structure: 'header', field: 'LogOffset', offset: at + Hdr.LogOffset }),
    });
  }
  if (!valid.length) throw new DiskProbeError(ErrorCode.CORRUPT, 'neither VHDX header is valid (signature and CRC-32C)', { ...where, structure: 'header', offset: HEADER_OFFSETS[0] });
  valid.sort((a, b) => (a.sequence > b.sequence ? -1 : a.sequence < b.sequence ? 1 : 0));
  const current = valid[0]!;
  if (current.version !== 1) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `VHDX version ${current.version} (this version reads 1)`, { ...where, structure: 'header', field: 'Version', offset: current.at + Hdr.Version, value: current.version });
  return current;
}

async function readRegions(dev: BlockDevice, where: Where, findings: Finding[], signal?: AbortSignal): Promise<Map<string, { offset: number; length: number; required: boolean }>> {
  for (const at of REGION_TABLE_OFFSETS) {
    if (at + REGION_TABLE_LENGTH > dev.size) continue;
    const t = await dev.read(at, REGION_TABLE_LENGTH, signal);
    if (!hasBytes(t, 0, REGION_TABLE_SIGNATURE) || !crcOk(t, RH.Checksum)) {
      findings.push({ severity: 'warning', code: 'vhdx.region-table', message: `the region table at ${at / KiB} KiB is not valid (signature or CRC-32C); the other copy is used`, offset: at });
      continue;
    }
    const v = viewOf(t);
    const count = v.getUint32(RH.EntryCount, true);
    if (count > RH.MAX_ENTRIES) throw new DiskProbeError(ErrorCode.CORRUPT, `region table EntryCount ${count} exceeds ${RH.MAX_ENTRIES}`, { ...where, structure: 'region table', field: 'EntryCount', offset: at + RH.EntryCount, value: count });
    const out = new Map<string, { offset: number; length: number; required: boolean }>();
    for (let i = 0; i < count; i++) {
      const e = RH.LENGTH + i * RE.LENGTH;
      const guid = guidString(t, e + RE.Guid);
      const offset = u64(v, e + RE.FileOffset, true, { ...where, structure: 'region table entry', field: 'FileOffset', offset: at + e + RE.FileOffset });
      const length = v.getUint32(e + RE.Length, true);
      const required = v.getUint32(e + RE.Required, true) !== 0;
      if (offset % MiB || offset + length > dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `region ${guid} at ${offset} (${length} bytes) is not 1 MiB aligned inside the file`, { ...where, structure: 'region table entry', offset: at + e, value: offset });
      if (required && guid !== Guids.BatRegion && guid !== Guids.MetadataRegion) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `a required region ${guid} this version does not know`, { ...where, structure: 'region table entry', offset: at + e });
      out.set(guid, { offset, length, required });
    }
    return out;
  }
  throw new DiskProbeError(ErrorCode.CORRUPT, 'neither region table is valid', { ...where, structure: 'region table', offset: REGION_TABLE_OFFSETS[0] });
}

interface Metadata {
  /** Parent locator key/value pairs ([MS-VHDX] 2.6.2.6), for a differencing disk. */
  parentLocator?: Record<string, string>;
  blockSize: number;
  flags: number;
  virtualSize: number;
  logicalSectorSize: number;
  physicalSectorSize: number;
  page83?: string;
}

async function readMetadata(dev: BlockDevice, region: { offset: number; length: number }, where: Where, signal?: AbortSignal): Promise<Metadata> {
  const t = await dev.read(region.offset, Math.min(64 * KiB, region.length), signal);
  if (!hasBytes(t, 0, METADATA_SIGNATURE)) throw new DiskProbeError(ErrorCode.CORRUPT, 'no "metadata" signature at the metadata region', { ...where, structure: 'metadata table', offset: region.offset });
  const v = viewOf(t);
  const count = v.getUint16(MH.EntryCount, true);
  if (count > MH.MAX_ENTRIES) throw new DiskProbeError(ErrorCode.CORRUPT, `metadata EntryCount ${count} exceeds ${MH.MAX_ENTRIES}`, { ...where, structure: 'metadata table', field: 'EntryCount', offset: region.offset + MH.EntryCount });
  const items = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const e = MH.LENGTH + i * ME.LENGTH;
    if (e + ME.LENGTH > t.length) break;
    const id = guidString(t, e + ME.ItemId);
    const offset = v.getUint32(e + ME.Offset, true);
    const length = v.getUint32(e + ME.Length, true);
    if (length === 0) continue;
    if (offset < 64 * KiB || offset + length > region.length || length > MiB) throw new DiskProbeError(ErrorCode.CORRUPT, `metadata item ${id} at ${offset} (${length} bytes) lies outside the metadata region`, { ...where, structure: 'metadata table entry', offset: region.offset + e });
    items.set(id, await dev.read(region.offset + offset, length, signal));
  }
  const need = (id: string, name: string, bytes: number): DataView => {
    const b = items.get(id);
    if (!b || b.length < bytes) throw new DiskProbeError(ErrorCode.CORRUPT, `the metadata has no ${name}`, { ...where, structure: 'metadata', field: name });
    return viewOf(b);
  };
  const fp = need(Guids.FileParameters, 'File Parameters', 8);
  const md: Metadata = {
    blockSize: fp.getUint32(0, true),
    flags: fp.getUint32(4, true),
    virtualSize: u64(need(Guids.VirtualDiskSize, 'Virtual Disk Size', 8), 0, true, { ...where, structure: 'metadata', field: 'VirtualDiskSize' }),
    logicalSectorSize: need(Guids.LogicalSectorSize, 'Logical Sector Size', 4).getUint32(0, true),
    physicalSectorSize: need(Guids.PhysicalSectorSize, 'Physical Sector Size', 4).getUint32(0, true),
  };
  const loc = items.get(Guids.ParentLocator);
  if (loc && loc.length >= 20) {
    const lv = viewOf(loc);
    const count = lv.getUint16(18, true);
    const pairs: Record<string, string> = {};
    const text = (at: number, length: number) => (at + length <= loc.length && length % 2 === 0 ? new TextDecoder('utf-16le').decode(loc.subarray(at, at + length)) : undefined);
    for (let i = 0; i < count && 20 + 12 * (i + 1) <= loc.length; i++) {
      const e = 20 + 12 * i;
      const k = text(lv.getUint32(e, true), lv.getUint16(e + 8, true));
      const value = text(lv.getUint32(e + 4, true), lv.getUint16(e + 10, true));
      if (k !== undefined && value !== undefined) pairs[k] = value;
    }
    md.parentLocator = pairs;
  }
  const p83 = items.get('BECA12AB-B2E6-4523-93EF-C309E000C746');
  if (p83 && p83.length >= 16) md.page83 = guidString(p83, 0);
  if (md.blockSize < MiB || md.blockSize > 256 * MiB || (md.blockSize & (md.blockSize - 1)) !== 0) throw new DiskProbeError(ErrorCode.CORRUPT, `BlockSize ${md.blockSize} is not a power of two from 1 to 256 MiB`, { ...where, structure: 'File Parameters', field: 'BlockSize', value: md.blockSize });
  if (md.logicalSectorSize !== 512 && md.logicalSectorSize !== 4096) throw new DiskProbeError(ErrorCode.CORRUPT, `LogicalSectorSize ${md.logicalSectorSize} is not 512 or 4096`, { ...where, structure: 'Logical Sector Size', value: md.logicalSectorSize });
  if (md.virtualSize % md.logicalSectorSize) throw new DiskProbeError(ErrorCode.CORRUPT, `VirtualDiskSize ${md.virtualSize} is not a multiple of the logical sector size`, { ...where, structure: 'Virtual Disk Size', value: md.virtualSize });
  return md;
}

class VhdxDisk implements Disk {
  readonly format = 'vhdx' as const;
  readonly subformat: string;
  readonly size: number;
  readonly label: string;
  readonly backing?: Disk;
  private readonly bitmaps = new Map<number, Promise<Uint8Array>>();

  constructor(
    /** The file, or the file with its log replayed over it. */
    private readonly data: BlockDevice,
    readonly source: BlockDevice,
    private readonly md: Metadata,
    private readonly bat: Float64Array,
    private readonly chunkRatio: number,
    readonly findings: Finding[],
    private readonly header: HeaderInfo,
    fixed: boolean,
    parent?: Disk,
  ) {
    this.size = md.virtualSize;
    this.label = source.label;
    this.subformat = parent ? 'differencing' : fixed ? 'fixed' : 'dynamic';
    if (parent) this.backing = parent;
  }

  /** The sector bitmap block of chunk `c` (1 MiB: a bit per logical sector, least significant first). */
  private bitmap(c: number, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    const entry = this.bat[c * (this.chunkRatio + 1) + this.chunkRatio] ?? 0;
    if (entry % 8 !== State.FULLY_PRESENT) return Promise.resolve(undefined);
    let p = this.bitmaps.get(c);
    if (!p) {
      const at = Math.floor(entry / MiB) * MiB;
      if (at + MiB > this.data.size) return Promise.reject(new DiskProbeError(ErrorCode.CORRUPT, `the sector bitmap of chunk ${c} lies past the end of the file`, { layer: 'container', format: 'vhdx', device: this.label, structure: 'BAT entry', value: at }));
      p = this.data.read(at, MiB, signal);
      p.catch(() => this.bitmaps.delete(c));
      this.bitmaps.set(c, p);
      if (this.bitmaps.size > 4) this.bitmaps.delete(this.bitmaps.keys().next().value!);
    }
    return p;
  }

  get facts(): Record<string, unknown> {
    return {
      blockSize: this.md.blockSize,
      logicalSectorSize: this.md.logicalSectorSize,
      physicalSectorSize: this.md.physicalSectorSize,
      leaveBlocksAllocated: (this.md.flags & FileParametersFlags.LeaveBlockAllocated) !== 0,
      hasParent: (this.md.flags & FileParametersFlags.HasParent) !== 0,
      parentLocator: this.md.parentLocator,
      page83: this.md.page83,
      chunkRatio: this.chunkRatio,
      batEntries: this.bat.length,
      header: { at: this.header.at, sequence: String(this.header.sequence), dataWriteGuid: this.header.dataWriteGuid, logGuid: this.header.logGuid },
    };
  }

  /** The BAT as offsets and states, the block size and the chunk ratio (for the integrity check). */
  allocation(): { bat: Float64Array; blockSize: number; chunkRatio: number } {
    return { bat: this.bat, blockSize: this.md.blockSize, chunkRatio: this.chunkRatio };
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('vhdx', this.label, this.size, offset, length, signal);
    const out = new Uint8Array(length);
    if (length) await this.fill(offset, out, signal);
    return out;
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkRead('vhdx', this.label, this.size, offset, target.length, signal);
    if (target.length) await this.fill(offset, target, signal);
  }

  private async fill(offset: number, out: Uint8Array, signal?: AbortSignal): Promise<void> {
    const bs = this.md.blockSize;
    const work: Promise<void>[] = [];
    let pos = offset;
    const end = offset + out.length;
    while (pos < end) {
      const block = Math.floor(pos / bs);
      const inBlock = pos - block * bs;
      const n = Math.min(bs - inBlock, end - pos);
      const slot = out.subarray(pos - offset, pos - offset + n);
      const index = block + Math.floor(block / this.chunkRatio);
      const entry = this.bat[index] ?? 0;
      const state = entry % 8;
      if (state === State.FULLY_PRESENT) {
        const fileAt = Math.floor(entry / MiB) * MiB + inBlock;
        if (fileAt + n > this.data.size) throw new DiskProbeError(ErrorCode.CORRUPT, `payload block ${block} at ${fileAt - inBlock} lies past the end of the file`, { layer: 'container', format: 'vhdx', device: this.label, structure: 'BAT entry', value: index });
        work.push(readInto(this.data, fileAt, slot, signal));
      } else if (state === State.PARTIALLY_PRESENT && this.backing) {
        // Sectors whose bit is set are in this file, the others in the parent: in runs.
        const blockAt = Math.floor(entry / MiB) * MiB;
        const parent = this.backing;
        const ls = this.md.logicalSectorSize;
        const from = pos;
        work.push(
          this.bitmap(Math.floor(block / this.chunkRatio), signal).then(async (bits) => {
            const parts: Promise<void>[] = [];
            const first = (block % this.chunkRatio) * (bs / ls);
            let at = inBlock;
            const stop = inBlock + n;
            while (at < stop) {
              const k = first + Math.floor(at / ls);
              const set = bits !== undefined && ((bits[k >> 3]! >> (k & 7)) & 1) === 1;
              let end = Math.min(stop, (Math.floor(at / ls) + 1) * ls);
              while (end < stop) {
                const j = first + Math.floor(end / ls);
                if ((bits !== undefined && ((bits[j >> 3]! >> (j & 7)) & 1) === 1) !== set) break;
                end = Math.min(stop, end + ls);
              }
              const part = slot.subarray(at - inBlock, end - inBlock);
              if (set) parts.push(readInto(this.data, blockAt + at, part, signal));
              else parts.push(readInto(parent, from - inBlock + at, part, signal));
              at = end;
            }
            await Promise.all(parts);
          }),
        );
      } else if (state === State.NOT_PRESENT && this.backing) {
        work.push(readInto(this.backing, pos, slot, signal));
      } else if (state === State.PARTIALLY_PRESENT) {
        throw new DiskProbeError(ErrorCode.CORRUPT, `payload block ${block} is partially present in a disk with no parent`, { layer: 'container', format: 'vhdx', device: this.label, structure: 'BAT entry', value: index });
      } else slot.fill(0);
      pos += n;
    }
    await Promise.all(work);
  }
}

/** Opens a VHDX (fixed or dynamic, empty log). */
export async function openVhdx(source: BlockDevice, options: OpenOptions, openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>): Promise<Disk> {
  let dev = source;
  const { signal } = options;
  const where: Where = { layer: 'container', format: 'vhdx', device: dev.label };
  const findings: Finding[] = [];
  const sig = await dev.read(0, Math.min(8, dev.size), signal);
  if (!hasBytes(sig, 0, FILE_SIGNATURE)) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no "vhdxfile" file type identifier at 0', { ...where, structure: 'file type identifier', offset: 0 });
  const header = await readHeaders(dev, where, findings, signal);
  // A log to replay: everything after the headers is read through the replayed state.
  const file = dev;
  if (header.logGuid !== ZERO_GUID) dev = await replayLog(dev, { offset: header.logOffset, length: header.logLength, guid: header.logGuid, headerAt: header.at }, where, findings, signal);
  const regions = await readRegions(dev, where, findings, signal);
  const batRegion = regions.get(Guids.BatRegion);
  const mdRegion = regions.get(Guids.MetadataRegion);
  if (!batRegion || !mdRegion) throw new DiskProbeError(ErrorCode.CORRUPT, 'the region table lacks the BAT or the metadata region', { ...where, structure: 'region table' });
  const md = await readMetadata(dev, mdRegion, where, signal);
  const differencing = (md.flags & FileParametersFlags.HasParent) !== 0;
  const chunkRatio = (2 ** 23 * md.logicalSectorSize) / md.blockSize;
  const dataBlocks = Math.ceil(md.virtualSize / md.blockSize);
  // [MS-VHDX] 2.5: a differencing disk has a sector bitmap entry for every chunk, even the last.
  const entries = differencing ? Math.ceil(dataBlocks / chunkRatio) * (chunkRatio + 1) : dataBlocks + Math.floor((dataBlocks - 1) / chunkRatio);
  if (entries * 8 > batRegion.length || entries * 8 > MAX_BAT_BYTES) throw new DiskProbeError(ErrorCode.CORRUPT, `the BAT region (${batRegion.length} bytes) is smaller than the ${entries} entries the disk needs`, { ...where, structure: 'BAT', offset: batRegion.offset, value: batRegion.length });
  const raw = await dev.read(batRegion.offset, entries * 8, signal);
  const v = viewOf(raw);
  const bat = new Float64Array(entries);
  let present = 0;
  for (let i = 0; i < entries; i++) {
    // FileOffsetMB (bits 20-63) times 1 MiB plus the state (bits 0-2), exact below 2^53.
    const lo = v.getUint32(i * 8, true);
    const hi = v.getUint32(i * 8 + 4, true);
    const mb = hi * 4096 + (lo >>> 20);
    const state = lo & 7;
    bat[i] = mb * MiB + state;
    if (state === State.FULLY_PRESENT) present++;
  }
  const fixed = present === dataBlocks && dataBlocks > 0 && (md.flags & FileParametersFlags.LeaveBlockAllocated) !== 0;
  const parent = differencing ? await openParent(file, md, options, where, findings, openDisk) : undefined;
  return new VhdxDisk(dev, file, md, bat, chunkRatio, findings, header, fixed, parent);
}


/** The parent of a differencing VHDX, by its locator's relative path, then the absolute one's name. */
async function openParent(file: BlockDevice, md: Metadata, options: OpenOptions, where: Where, findings: Finding[], openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>): Promise<Disk> {
  const loc = md.parentLocator ?? {};
  const names = [loc.relative_path, loc.absolute_win32_path?.split('\\').pop(), loc.volume_path?.split('\\').pop()]
    .filter((n): n is string => !!n)
    .map((n) => n.replace(/\\/g, '/').replace(/^\.\//, ''));
  if (!names.length) throw new DiskProbeError(ErrorCode.CORRUPT, 'a differencing VHDX whose parent locator names no path', { ...where, structure: 'parent locator' });
  if (!options.resolver) throw new DiskProbeError(ErrorCode.REFUSED, `the differencing VHDX's parent is "${names[0]}"; pass a resolver to read it`, { ...where, structure: 'parent locator', value: names[0] });
  const chain = options.chain ?? { depth: 0, seen: new Set<string>() };
  const self = file.path ?? file.label;
  if (chain.seen.has(self)) throw new DiskProbeError(ErrorCode.REFUSED, 'the chain of parent disks loops back to a disk already in it', { ...where, structure: 'parent locator' });
  const maxDepth = options.maxChainDepth ?? DEFAULT_LIMITS.maxChainDepth;
  if (chain.depth + 1 > maxDepth) throw new DiskProbeError(ErrorCode.LIMIT, `chain of parent disks deeper than ${maxDepth}`, { ...where, structure: 'parent locator', expected: `maxChainDepth ${maxDepth}` });
  let last: unknown;
  for (const name of [...new Set(names)]) {
    try {
      const dev = await options.resolver({ name, kind: 'parent', from: file.label, fromDevice: file, format: 'vhdx' }, options.signal);
      const popts: OpenOptions = { ...options, chain: { depth: chain.depth + 1, seen: new Set([...chain.seen, self]) } };
      delete popts.format;
      const parent = await openDisk(dev, popts);
      const linkage = loc.parent_linkage?.replace(/[{}]/g, '').toUpperCase();
      const theirs = parent.format === 'vhdx' ? String((parent.facts.header as { dataWriteGuid?: string } | undefined)?.dataWriteGuid ?? '') : undefined;
      if (linkage && theirs !== undefined && linkage !== theirs) findings.push({ severity: 'warning', code: 'vhdx.parent-linkage', message: `parent_linkage ${linkage} is not the parent's DataWriteGuid ${theirs}: the parent changed after this disk was made` });
      return parent;
    } catch (e) {
      if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED || e.code === ErrorCode.LIMIT || (e.code === ErrorCode.REFUSED && /loops/.test(e.message))) throw e;
      last = e;
    }
  }
  throw last instanceof DiskProbeError ? last : new DiskProbeError(ErrorCode.MISSING, 'no parent locator path led to a readable parent', { ...where, structure: 'parent locator' });
}
