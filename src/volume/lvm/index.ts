/**
 * LVM2: physical volumes read from their labels and metadata areas, volume groups assembled
 * from the newest metadata copy (highest `seqno`) among their PVs, and logical volumes with
 * linear and striped segments exposed as devices mapped over the PVs the way device-mapper's
 * `linear` and `striped` targets map them (the kernel's drivers/md/dm-stripe.c: chunk k of a
 * segment lies on stripe k mod N, at chunk k div N of that stripe's area). Other segment types
 * (thin, RAID, mirror, cache, snapshot, VDO, …) are named and refused. Structures: layout.ts;
 * the metadata text's syntax: config.ts; its schema: LVM2's lib/format_text/import_vsn1.c.
 */
import type { Finding } from '../../container/types.js';
import { checkRead } from '../../device/check.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode } from '../../errors.js';
import { hasBytes } from '../../util/bytes.js';
import type { VolumeGroupInfo } from '../types.js';
import { arrayOf, numberOf, parseConfig, sectionOf, stringOf, MAX_CONFIG_BYTES, type ConfigSection } from './config.js';
import {
  decodePvHeader,
  findPvLabel,
  lvmCrc,
  LVM_SECTOR,
  MDA_MAGIC,
  MdaHeader,
  RAW_LOCN_IGNORED,
  RawLocn,
  u64le,
  type DiskArea,
  type PvLabel,
} from './layout.js';

/** Metadata areas read per PV (LVM writes one or two). */
export const MAX_METADATA_AREAS = 4;
/** Segments per LV, LVs per VG, PVs per VG and stripes per segment accepted. */
export const MAX_SEGMENTS = 65536;
export const MAX_LVS = 16384;
export const MAX_PVS = 4096;
export const MAX_STRIPES = 128;
/** The smallest stripe size LVM writes (4 KiB): smaller ones would split reads into too many pieces. */
export const MIN_STRIPE_SECTORS = 8;

/** One metadata copy read from a PV. */
interface MetadataCopy {
  vgName: string;
  vgUuid: string;
  seqno: number;
  vg: ConfigSection;
  /** Byte offset of the text on its device, and the device's label. */
  offset: number;
  device: string;
}

/** A physical volume found on a volume. */
export interface PhysicalVolume {
  dev: BlockDevice;
  label: PvLabel;
  deviceSize: number;
  dataAreas: DiskArea[];
  metadataAreas: DiskArea[];
  copies: MetadataCopy[];
  findings: Finding[];
}

const where = (dev: BlockDevice, structure: string, offset?: number) => ({ layer: 'volume' as const, format: 'lvm2', device: dev.label, structure, offset });

/** Reads the PV label, header and metadata of `dev` (`head`: its first 2 KiB at least). */
export async function readPhysicalVolume(dev: BlockDevice, head: Uint8Array, signal?: AbortSignal): Promise<PhysicalVolume | undefined> {
  const label = findPvLabel(head);
  if (!label) return undefined;
  const findings: Finding[] = [];
  const sector = head.subarray(label.offset, label.offset + LVM_SECTOR);
  const { deviceSize, dataAreas, metadataAreas } = decodePvHeader(sector, label.headerOffset - label.offset);
  const pv: PhysicalVolume = { dev, label, deviceSize, dataAreas, metadataAreas, copies: [], findings };
  if (!label.crcOk) {
    findings.push({ severity: 'error', code: 'lvm.label-crc', message: `the LVM label of ${dev.label} fails its CRC; LVM ignores such a PV`, offset: label.offset });
    return pv;
  }
  if (deviceSize !== Infinity && deviceSize > dev.size) {
    findings.push({ severity: 'warning', code: 'lvm.pv-truncated', message: `the PV header of ${dev.label} says the device is ${deviceSize} bytes; it is ${dev.size}`, offset: label.headerOffset });
  }
  for (const area of metadataAreas.slice(0, MAX_METADATA_AREAS)) {
    try {
      const copy = await readMetadataArea(dev, area, findings, signal);
      if (copy) pv.copies.push(copy);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      findings.push({ severity: 'error', code: 'lvm.metadata-unreadable', message: `the metadata area at byte ${area.offset} of ${dev.label} cannot be used: ${e.message}`, offset: e.offset ?? area.offset });
    }
  }
  return pv;
}

async function readMetadataArea(dev: BlockDevice, area: DiskArea, findings: Finding[], signal?: AbortSignal): Promise<MetadataCopy | undefined> {
  const w = where(dev, 'mda_header', area.offset);
  if (!Number.isSafeInteger(area.offset + area.size) || area.size < MdaHeader.SIZE || area.offset + MdaHeader.SIZE > dev.size) {
    throw new DiskProbeError(ErrorCode.CORRUPT, 'metadata area lies outside the device', { ...w, value: `${area.offset}+${area.size}`, expected: `inside ${dev.size} bytes` });
  }
  const h = await dev.read(area.offset, MdaHeader.SIZE, signal);
  if (!hasBytes(h, MdaHeader.magic, MDA_MAGIC)) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no metadata area magic', { ...w, field: 'magic' });
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const sum = lvmCrc(h, MdaHeader.magic, MdaHeader.SIZE);
  if (sum !== v.getUint32(MdaHeader.checksum_xl, true)) {
    throw new DiskProbeError(ErrorCode.CHECKSUM, 'metadata area header fails its checksum', { ...w, field: 'checksum_xl', value: v.getUint32(MdaHeader.checksum_xl, true), expected: `0x${sum.toString(16)}` });
  }
  const start = u64le(v, MdaHeader.start);
  const size = u64le(v, MdaHeader.size);
  if (start !== area.offset || size !== area.size) {
    findings.push({ severity: 'warning', code: 'lvm.mda-mismatch', message: `the metadata area header at byte ${area.offset} of ${dev.label} says it starts at ${start} with ${size} bytes; the PV header says ${area.offset} and ${area.size}`, offset: area.offset });
  }
  // The first raw location is the committed metadata (LVM2 keeps a second for precommits).
  const at = MdaHeader.raw_locns;
  const offset = u64le(v, at + RawLocn.offset);
  const length = u64le(v, at + RawLocn.size);
  const checksum = v.getUint32(at + RawLocn.checksum, true);
  const flags = v.getUint32(at + RawLocn.flags, true);
  if (length === 0 || flags & RAW_LOCN_IGNORED) return undefined;
  const rw = where(dev, 'raw_locn', area.offset + at);
  if (offset < MdaHeader.SIZE || offset >= area.size || length > area.size - MdaHeader.SIZE || length > MAX_CONFIG_BYTES) {
    throw new DiskProbeError(ErrorCode.CORRUPT, 'metadata text lies outside its area', { ...rw, value: `${offset}+${length}`, expected: `inside ${MdaHeader.SIZE}..${area.size}` });
  }
  // The area is a ring after its 512-byte header: text that reaches the end continues after the header.
  const first = Math.min(length, area.size - offset);
  const text = new Uint8Array(length);
  text.set(await dev.read(area.offset + offset, first, signal));
  if (first < length) text.set(await dev.read(area.offset + MdaHeader.SIZE, length - first, signal), first);
  const sumText = lvmCrc(text);
  if (sumText !== checksum) {
    throw new DiskProbeError(ErrorCode.CHECKSUM, 'metadata text fails its checksum', { ...rw, field: 'checksum', value: checksum, expected: `0x${sumText.toString(16)}` });
  }
  let end = text.length;
  while (end > 0 && text[end - 1] === 0) end--;
  const textAt = area.offset + offset;
  const config = parseConfig(new TextDecoder('utf-8', { fatal: false }).decode(text.subarray(0, end)), where(dev, 'LVM metadata'), textAt);
  for (const [name, value] of config) {
    if (!(value instanceof Map)) continue;
    const vgUuid = stringOf(value, 'id');
    const seqno = numberOf(value, 'seqno');
    if (vgUuid === undefined || seqno === undefined) continue;
    return { vgName: name, vgUuid, seqno, vg: value, offset: textAt, device: dev.label };
  }
  throw new DiskProbeError(ErrorCode.CORRUPT, 'metadata text names no volume group (no section with id and seqno)', where(dev, 'LVM metadata', textAt));
}

// ---------------------------------------------------------------------------------------------
// Logical volumes as devices.

/** A run of the LV's bytes: zeros, an error, or stripes over PV areas. */
interface Segment {
  /** Bytes, within the LV. */
  start: number;
  length: number;
  kind: 'striped' | 'zero' | 'error';
  /** Stripe areas: the device and the byte where the area starts on it. */
  stripes: { dev: BlockDevice; at: number }[];
  /** Stripe chunk size in bytes (the whole area when there is one stripe). */
  chunk: number;
}

/** A part of a request: a read of a PV, zeros, or an error segment. */
interface Piece {
  kind: 'read' | 'zero' | 'error';
  dev?: BlockDevice;
  at: number;
  length: number;
  outAt: number;
}

/** Maps `[offset, offset + length)` of an LV to pieces of PV reads, merging adjacent ones. */
function plan(segments: Segment[], offset: number, length: number): Piece[] {
  const pieces: Piece[] = [];
  const push = (dev: BlockDevice, at: number, n: number, outAt: number) => {
    const last = pieces[pieces.length - 1];
    if (last && last.dev === dev && last.at + last.length === at && last.outAt + last.length === outAt) last.length += n;
    else pieces.push({ kind: 'read', dev, at, length: n, outAt });
  };
  // Binary search for the segment holding `offset`.
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  let pos = offset;
  const end = offset + length;
  for (let i = lo; i < segments.length && pos < end; i++) {
    const s = segments[i]!;
    const segEnd = Math.min(end, s.start + s.length);
    if (s.kind !== 'striped') {
      pieces.push({ kind: s.kind, at: 0, length: segEnd - pos, outAt: pos - offset });
      pos = segEnd;
      continue;
    }
    const n = s.stripes.length;
    while (pos < segEnd) {
      const o = pos - s.start;
      const chunkIndex = Math.floor(o / s.chunk);
      const inChunk = o - chunkIndex * s.chunk;
      const stripe = s.stripes[chunkIndex % n]!;
      const take = Math.min(segEnd - pos, s.chunk - inChunk);
      push(stripe.dev, stripe.at + Math.floor(chunkIndex / n) * s.chunk + inChunk, take, pos - offset);
      pos += take;
    }
  }
  return pieces;
}

function lvDevice(label: string, size: number, segments: Segment[], problem: string | undefined, missing: boolean): BlockDevice {
  return {
    size,
    label,
    async read(offset, length, signal) {
      checkRead('lvm2', label, size, offset, length, signal);
      if (problem !== undefined) {
        throw new DiskProbeError(missing ? ErrorCode.MISSING : ErrorCode.UNSUPPORTED, problem, { layer: 'volume', format: 'lvm2', device: label });
      }
      if (length === 0) return new Uint8Array(0);
      const pieces = plan(segments, offset, length);
      const only = pieces[0]!;
      if (pieces.length === 1 && only.kind === 'read') return only.dev!.read(only.at, only.length, signal);
      const out = new Uint8Array(length);
      await Promise.all(
        pieces.map(async (p) => {
          if (p.kind === 'zero') return; // the buffer is zeroed
          if (p.kind === 'error') throw new DiskProbeError(ErrorCode.IO, 'read of an "error" segment', { layer: 'volume', format: 'lvm2', device: label, offset: offset + p.outAt });
          out.set(await p.dev!.read(p.at, p.length, signal), p.outAt);
        }),
      );
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Volume groups.

/** A logical volume ready to become a `Volume`. */
export interface LogicalVolume {
  vg: string;
  vgUuid: string;
  name: string;
  uuid: string;
  device: BlockDevice;
  /** Segment types, in order (`linear` for one-stripe `striped`). */
  segmentTypes: string[];
  facts: Record<string, unknown>;
  problem?: string;
}

/** What {@link assembleVolumeGroups} returns. */
export interface Assembly {
  groups: VolumeGroupInfo[];
  lvs: LogicalVolume[];
  findings: Finding[];
}

const READABLE = new Set(['striped', 'linear', 'zero', 'error']);
const SEGMENT_NAMES: Record<string, string> = {
  thin: 'a thin volume',
  'thin-pool': 'a thin pool',
  mirror: 'a mirror',
  snapshot: 'a snapshot',
  cache: 'a cached volume',
  'cache-pool': 'a cache pool',
  writecache: 'a write-cached volume',
  vdo: 'a VDO volume',
  'vdo-pool': 'a VDO pool',
  integrity: 'an integrity volume',
};

function segmentName(type: string): string {
  return SEGMENT_NAMES[type] ?? (type.startsWith('raid') ? `a RAID volume (${type})` : `a "${type}" volume`);
}

const stripDashes = (s: string) => s.replace(/-/g, '');

/**
 * Groups the PVs' metadata by VG UUID, takes the copy with the highest seqno, and builds each
 * VG's logical volumes over the PVs that were found.
 */
export function assembleVolumeGroups(pvs: PhysicalVolume[]): Assembly {
  const findings: Finding[] = [];
  const byVg = new Map<string, MetadataCopy[]>();
  for (const pv of pvs) for (const c of pv.copies) byVg.set(c.vgUuid, [...(byVg.get(c.vgUuid) ?? []), c]);
  const byUuid = new Map<string, PhysicalVolume>();
  for (const pv of pvs) {
    const first = byUuid.get(pv.label.pvUuid);
    // Clones of one disk given together: LVM too sees duplicates, and uses one of them.
    if (first) findings.push({ severity: 'warning', code: 'lvm.duplicate-pv', message: `PV ${pv.label.pvUuid} is on both ${first.dev.label} and ${pv.dev.label} (cloned disks?); ${first.dev.label} is used` });
    else byUuid.set(pv.label.pvUuid, pv);
  }
  const groups: VolumeGroupInfo[] = [];
  const lvs: LogicalVolume[] = [];
  for (const copies of byVg.values()) {
    const best = copies.reduce((a, b) => (b.seqno > a.seqno ? b : a));
    const stale = copies.filter((c) => c.seqno !== best.seqno);
    if (stale.length > 0) {
      findings.push({ severity: 'warning', code: 'lvm.stale-metadata', message: `VG ${best.vgName}: metadata seqno ${best.seqno} used; older copies (seqno ${stale.map((c) => c.seqno).join(', ')}) on ${[...new Set(stale.map((c) => c.device))].join(', ')}` });
    }
    try {
      const built = buildGroup(best, byUuid, findings);
      groups.push(built.info);
      lvs.push(...built.lvs);
      if (groups.some((g) => g !== built.info && g.name === built.info.name)) {
        findings.push({ severity: 'warning', code: 'lvm.duplicate-vg-name', message: `two volume groups are named ${built.info.name} (UUIDs ${groups.filter((g) => g.name === built.info.name).map((g) => g.uuid).join(', ')}); their LVs are told apart by the VG UUID` });
      }
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      findings.push({ severity: 'error', code: 'lvm.metadata-invalid', message: `VG ${best.vgName}: ${e.message}`, offset: e.offset });
    }
  }
  return { groups, lvs, findings };
}

function buildGroup(copy: MetadataCopy, byUuid: Map<string, PhysicalVolume>, findings: Finding[]) {
  const { vg, vgName } = copy;
  const w = { layer: 'volume' as const, format: 'lvm2', device: copy.device, structure: `LVM metadata of VG ${vgName}`, offset: copy.offset };
  const extentSectors = numberOf(vg, 'extent_size');
  if (extentSectors === undefined || !Number.isSafeInteger(extentSectors) || extentSectors < 1 || extentSectors > 2 ** 32) {
    throw new DiskProbeError(ErrorCode.CORRUPT, 'extent_size is missing or out of range', { ...w, field: 'extent_size', value: extentSectors, expected: '1..2^32 sectors' });
  }
  const extentSize = extentSectors * 512;
  const pvSections = sectionOf(vg, 'physical_volumes') ?? new Map();
  if (pvSections.size > MAX_PVS) throw new DiskProbeError(ErrorCode.LIMIT, 'too many physical volumes', { ...w, value: pvSections.size, expected: `<= ${MAX_PVS}` });
  const pvInfo: VolumeGroupInfo['pvs'] = [];
  const pvByName = new Map<string, { pv?: PhysicalVolume; peStart: number; peCount: number; uuid: string }>();
  for (const [name, value] of pvSections) {
    if (!(value instanceof Map)) continue;
    const uuid = stringOf(value, 'id') ?? '';
    const pv = byUuid.get(stripDashes(uuid));
    const peStart = (numberOf(value, 'pe_start') ?? NaN) * 512;
    const peCount = numberOf(value, 'pe_count') ?? NaN;
    if (!Number.isSafeInteger(peStart) || !Number.isSafeInteger(peCount) || peStart < 0 || peCount < 0 || !Number.isSafeInteger(peStart + peCount * extentSize)) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `PV ${name}: pe_start or pe_count missing or out of range`, { ...w, field: `${name}.pe_count`, value: `${peStart}/${peCount}` });
    }
    pvByName.set(name, { pv, peStart, peCount, uuid });
    pvInfo.push({ name, uuid, device: pv?.dev.label, found: pv !== undefined, peStart, peCount });
    if (!pv) findings.push({ severity: 'warning', code: 'lvm.pv-missing', message: `VG ${vgName}: PV ${name} (${uuid}${stringOf(value, 'device') ? `, last seen as ${stringOf(value, 'device')}` : ''}) is not among the disks read` });
  }
  const lvSections = sectionOf(vg, 'logical_volumes') ?? new Map();
  if (lvSections.size > MAX_LVS) throw new DiskProbeError(ErrorCode.LIMIT, 'too many logical volumes', { ...w, value: lvSections.size, expected: `<= ${MAX_LVS}` });
  // A snapshot is two LVs in the metadata: an internal one ("snapshot0", segment type snapshot)
  // and its copy-on-write store, whose name is the one users know ("snap"). Like lvs, show the
  // store under its name, refused, and hide the internal one.
  const cowStores = new Map<string, string>();
  const snapshotLvs = new Set<string>();
  for (const [lvName, value] of lvSections) {
    if (!(value instanceof Map)) continue;
    for (const seg of value.values()) {
      if (seg instanceof Map && stringOf(seg, 'type') === 'snapshot') {
        const cow = stringOf(seg, 'cow_store');
        if (cow) cowStores.set(cow, stringOf(seg, 'origin') ?? '?');
        snapshotLvs.add(lvName);
      }
    }
  }
  const info: VolumeGroupInfo = { name: vgName, uuid: copy.vgUuid, seqno: copy.seqno, extentSize, pvs: pvInfo, lvs: [], metadataFrom: { device: copy.device, offset: copy.offset } };
  const lvs: LogicalVolume[] = [];
  for (const [name, value] of lvSections) {
    if (!(value instanceof Map)) continue;
    const lv = buildLv(vgName, copy.vgUuid, name, value, extentSize, pvByName, cowStores.get(name), w);
    const visible = cowStores.has(name) || ((arrayOf(value, 'status') ?? []).includes('VISIBLE') && !snapshotLvs.has(name));
    info.lvs.push({ name, uuid: lv.uuid, visible, size: lv.device.size, segmentTypes: lv.segmentTypes, problem: lv.problem });
    if (visible) lvs.push(lv);
  }
  return { info, lvs };
}

function buildLv(
  vgName: string,
  vgUuid: string,
  name: string,
  lv: ConfigSection,
  extentSize: number,
  pvByName: Map<string, { pv?: PhysicalVolume; peStart: number; peCount: number; uuid: string }>,
  cowOf: string | undefined,
  w: { layer: 'volume'; format: string; device: string; structure: string; offset: number },
): LogicalVolume {
  const label = `${vgName}/${name}`;
  const uuid = stringOf(lv, 'id') ?? '';
  const segs: Segment[] = [];
  const types: string[] = [];
  const problems: string[] = [];
  let missing = false;
  const raw = [...lv.entries()].filter((e): e is [string, ConfigSection] => e[1] instanceof Map);
  if (raw.length > MAX_SEGMENTS) throw new DiskProbeError(ErrorCode.LIMIT, `LV ${name}: too many segments`, { ...w, value: raw.length, expected: `<= ${MAX_SEGMENTS}` });
  const parsed = raw.map(([key, s]) => ({ key, s, startExtent: numberOf(s, 'start_extent') ?? NaN, extentCount: numberOf(s, 'extent_count') ?? NaN }));
  parsed.sort((a, b) => a.startExtent - b.startExtent);
  let nextExtent = 0;
  for (const { key, s, startExtent, extentCount } of parsed) {
    const type = stringOf(s, 'type') ?? '?';
    const stripeCount = numberOf(s, 'stripe_count') ?? 1;
    types.push(type === 'striped' && stripeCount === 1 ? 'linear' : type);
    if (!Number.isSafeInteger(startExtent) || !Number.isSafeInteger(extentCount) || extentCount < 1 || !Number.isSafeInteger((startExtent + extentCount) * extentSize)) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `LV ${name} ${key}: start_extent or extent_count missing or out of range`, { ...w, field: `${name}.${key}.extent_count`, value: `${startExtent}+${extentCount}` });
    }
    if (startExtent !== nextExtent) problems.push(`segment ${key} starts at extent ${startExtent}, expected ${nextExtent} (a gap or an overlap)`);
    nextExtent = startExtent + extentCount;
    const start = startExtent * extentSize;
    const length = extentCount * extentSize;
    if (!READABLE.has(type)) {
      problems.push(`${segmentName(type)}: diskprobe does not read LVM "${type}" segments`);
      continue;
    }
    if (type === 'zero' || type === 'error') {
      segs.push({ start, length, kind: type, stripes: [], chunk: length });
      continue;
    }
    const areas = arrayOf(s, 'stripes') ?? [];
    if (!Number.isSafeInteger(stripeCount) || stripeCount < 1 || stripeCount > MAX_STRIPES || areas.length !== stripeCount * 2 || extentCount % stripeCount !== 0) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `LV ${name} ${key}: stripes do not match stripe_count`, { ...w, field: `${name}.${key}.stripes`, value: `${stripeCount} stripes, ${areas.length / 2} areas, ${extentCount} extents` });
    }
    const perStripe = extentCount / stripeCount;
    const stripeSectors = stripeCount > 1 ? numberOf(s, 'stripe_size') : undefined;
    if (stripeCount > 1 && (stripeSectors === undefined || !Number.isSafeInteger(stripeSectors) || stripeSectors < MIN_STRIPE_SECTORS || stripeSectors * 512 > perStripe * extentSize)) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `LV ${name} ${key}: stripe_size missing or out of range`, { ...w, field: `${name}.${key}.stripe_size`, value: stripeSectors });
    }
    const stripes: Segment['stripes'] = [];
    for (let i = 0; i < stripeCount; i++) {
      const pvName = areas[i * 2];
      const areaStart = areas[i * 2 + 1];
      const target = typeof pvName === 'string' ? pvByName.get(pvName) : undefined;
      if (!target || typeof areaStart !== 'number' || !Number.isSafeInteger(areaStart) || areaStart < 0) {
        throw new DiskProbeError(ErrorCode.CORRUPT, `LV ${name} ${key}: stripe ${i} names no PV of the VG`, { ...w, field: `${name}.${key}.stripes`, value: String(pvName) });
      }
      if (areaStart + perStripe > target.peCount) {
        problems.push(`segment ${key} uses extents ${areaStart}..${areaStart + perStripe - 1} of ${String(pvName)}, which has ${target.peCount}`);
        continue;
      }
      if (!target.pv) {
        missing = true;
        problems.push(`needs PV ${String(pvName)} (${target.uuid}), which is not among the disks read`);
        continue;
      }
      const at = target.peStart + areaStart * extentSize;
      if (at + perStripe * extentSize > target.pv.dev.size) {
        problems.push(`segment ${key} needs bytes ${at}..${at + perStripe * extentSize - 1} of ${target.pv.dev.label}, which has ${target.pv.dev.size} (truncated)`);
        continue;
      }
      stripes.push({ dev: target.pv.dev, at });
    }
    segs.push({ start, length, kind: 'striped', stripes, chunk: stripeCount > 1 ? stripeSectors! * 512 : perStripe * extentSize });
  }
  if (cowOf !== undefined) problems.unshift(`a snapshot of ${cowOf}: diskprobe does not read LVM snapshots (this is its copy-on-write store)`);
  const size = nextExtent * extentSize;
  const problem = problems.length ? [...new Set(problems)].join('; ') : undefined;
  return {
    vg: vgName,
    vgUuid,
    name,
    uuid,
    device: lvDevice(label, size, segs, problem, missing && problems.every((p) => p.startsWith('needs PV'))),
    segmentTypes: types,
    facts: {
      vg: vgName,
      segments: parsed.length,
      segmentTypes: types,
      status: arrayOf(lv, 'status'),
      stripes: segs.map((s) => s.stripes.length),
    },
    problem,
  };
}
