/**
 * VHD disks: fixed (the data, then the footer), dynamic (a dynamic header, a block allocation
 * table, blocks of a sector bitmap and data) and differencing (a dynamic disk whose clear bitmap
 * bits read from the parent, found by its parent locators). Reference: Microsoft "Virtual Hard
 * Disk Image Format Specification" v1.0: "Hard Disk Footer Format", "Dynamic Disk Header
 * Format", "Block Allocation Table and Data Blocks", "Implementing a Differencing Hard Disk".
 * The size rule follows qemu's block/vpc.c so that both read the same bytes: images made by
 * Hyper-V, qemu with force_size, Disk2vhd and Xen tools are sized by current_size, all others
 * by their CHS geometry, and a maximal geometry always by current_size.
 */
import { checkRead } from '../../device/check.js';
import { readInto } from '../../device/read-into.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, u64, type Where } from '../../errors.js';
import { hasBytes, latin1, toHex, viewOf } from '../../util/bytes.js';
import type { Disk, Finding, OpenOptions, Reference } from '../types.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { DISK_TYPES, DYNAMIC_COOKIE, FOOTER_COOKIE, Footer as F, footerChecksum } from './layout.js';

const SECTOR = 512;
const UNUSED = 0xffffffff;
/** "Dynamic Disk Header Format": field offsets. */
const Dyn = {
  cookie: 0,
  data_offset: 8,
  table_offset: 16,
  header_version: 24,
  max_table_entries: 28,
  block_size: 32,
  checksum: 36,
  parent_unique_id: 40,
  parent_time_stamp: 56,
  parent_unicode_name: 64,
  parent_locator_entries: 576,
  LENGTH: 1024,
} as const;
/** Largest block size read (the spec's default is 2 MiB; qemu allows up to 256 MiB). */
const MAX_BLOCK_BYTES = 256 * 1024 * 1024;
/** Largest BAT read: 2^27 entries (512 MiB of table) is far past any real disk. */
const MAX_BAT_ENTRIES = 1 << 27;
/** Bitmaps kept. */
const BITMAP_CACHE = 256;

type OpenDisk = (dev: BlockDevice, options: OpenOptions) => Promise<Disk>;

export interface VhdFooter {
  diskType: number;
  currentSize: number;
  originalSize: number;
  dataOffset: bigint;
  timeStamp: number;
  creatorApplication: string;
  creatorVersion: number;
  creatorHostOs: string;
  geometry: { cylinders: number; heads: number; sectors: number };
  uniqueId: string;
  savedState: number;
  checksumValid: boolean;
}

export function decodeFooter(b: Uint8Array, offset: number, where: Where): VhdFooter {
  const v = viewOf(b);
  return {
    diskType: v.getUint32(F.disk_type),
    currentSize: u64(v, F.current_size, false, { ...where, structure: 'Footer', field: 'current_size', offset: offset + F.current_size }),
    originalSize: Number(v.getBigUint64(F.original_size)),
    dataOffset: v.getBigUint64(F.data_offset),
    timeStamp: v.getUint32(F.time_stamp),
    creatorApplication: latin1(b, F.creator_application, F.creator_application + 4),
    creatorVersion: v.getUint32(F.creator_version),
    creatorHostOs: latin1(b, F.creator_host_os, F.creator_host_os + 4),
    geometry: { cylinders: v.getUint16(F.disk_geometry), heads: v.getUint8(F.disk_geometry + 2), sectors: v.getUint8(F.disk_geometry + 3) },
    uniqueId: toHex(b.subarray(F.unique_id, F.unique_id + 16)),
    savedState: v.getUint8(F.saved_state),
    checksumValid: v.getUint32(F.checksum) === footerChecksum(b),
  };
}

/** The virtual size and how it was chosen, as qemu's vpc driver chooses it. */
export function vhdSize(f: VhdFooter): { size: number; from: 'geometry' | 'current_size'; chsBytes: number } {
  const g = f.geometry;
  const chsBytes = g.cylinders * g.heads * g.sectors * SECTOR;
  const maximal = g.cylinders === 65535 && g.heads === 16 && g.sectors === 255;
  // qemu takes current_size from Hyper-V ("win "), qemu's own force_size ("qem2"), Disk2vhd,
  // XenConverter and XenServer; from every other creator (Virtual PC, older qemu, unknown) the
  // CHS geometry, unless that geometry is the maximum.
  const bySize = ['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0'].includes(f.creatorApplication);
  const byGeometry = !bySize && !maximal;
  return byGeometry ? { size: chsBytes, from: 'geometry', chsBytes } : { size: f.currentSize, from: 'current_size', chsBytes };
}

async function resolve(options: OpenOptions, ref: Reference, where: Where): Promise<BlockDevice> {
  if (!options.resolver) throw new DiskProbeError(ErrorCode.REFUSED, `the differencing VHD's parent is "${ref.name}"; pass a resolver to read it`, { ...where, structure: 'parent locator', value: ref.name });
  return options.resolver(ref, options.signal);
}

function utf16(b: Uint8Array, littleEndian: boolean): string {
  const v = viewOf(b);
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = v.getUint16(i, littleEndian);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

class VhdDisk implements Disk {
  readonly format = 'vhd' as const;
  readonly subformat: string;
  readonly label: string;
  readonly backing?: Disk;
  private readonly bitmaps = new Map<number, Promise<Uint8Array>>();
  /** The bitmaps of `bitmaps` that have arrived, for reads without an await. */
  private readonly bitmapsReady = new Map<number, Uint8Array>();

  constructor(
    readonly source: BlockDevice,
    readonly size: number,
    private readonly footer: VhdFooter,
    private readonly sizeRule: ReturnType<typeof vhdSize>,
    readonly findings: Finding[],
    private readonly dynamic: { bat: Uint32Array; blockBytes: number; bitmapBytes: number; header: Record<string, unknown> } | undefined,
    parent: Disk | undefined,
  ) {
    this.label = source.label;
    this.subformat = DISK_TYPES[footer.diskType] ?? `type${footer.diskType}`;
    if (parent) this.backing = parent;
  }

  get facts(): Record<string, unknown> {
    const f = this.footer;
    return {
      diskType: this.subformat,
      currentSize: f.currentSize,
      originalSize: f.originalSize,
      geometry: f.geometry,
      chsSize: this.sizeRule.chsBytes,
      sizeFrom: this.sizeRule.from,
      creatorApplication: f.creatorApplication,
      creatorVersion: `${f.creatorVersion >>> 16}.${f.creatorVersion & 0xffff}`,
      creatorHostOs: f.creatorHostOs,
      uniqueId: f.uniqueId,
      timeStamp: f.timeStamp,
      savedState: f.savedState,
      fileSize: this.source.size,
      ...(this.dynamic ? { blockSize: this.dynamic.blockBytes, batEntries: this.dynamic.bat.length, dynamicHeader: this.dynamic.header } : {}),
    };
  }

  /** The block allocation table and block geometry of a dynamic or differencing disk (for the integrity check). */
  allocation(): { bat: Uint32Array; blockBytes: number; bitmapBytes: number; tableOffset: number; headerOffset: number } | undefined {
    const d = this.dynamic;
    return d ? { bat: d.bat, blockBytes: d.blockBytes, bitmapBytes: d.bitmapBytes, tableOffset: d.header.tableOffset as number, headerOffset: Number(this.footer.dataOffset) } : undefined;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('vhd', this.label, this.size, offset, length, signal);
    const out = new Uint8Array(length);
    if (length) await this.fill(offset, out, signal);
    return out;
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkRead('vhd', this.label, this.size, offset, target.length, signal);
    if (target.length) await this.fill(offset, target, signal);
  }

  private bitmap(block: number, at: number, signal?: AbortSignal): Promise<Uint8Array> {
    let p = this.bitmaps.get(block);
    if (!p) {
      const loading = this.source.read(at, this.dynamic!.bitmapBytes, signal).then((b) => {
        if (this.bitmaps.get(block) === loading) this.bitmapsReady.set(block, b);
        return b;
      });
      p = loading;
      p.catch(() => this.bitmaps.delete(block));
      this.bitmaps.set(block, p);
      if (this.bitmaps.size > BITMAP_CACHE) {
        const oldest = this.bitmaps.keys().next().value!;
        this.bitmaps.delete(oldest);
        this.bitmapsReady.delete(oldest);
      }
    }
    return p;
  }

  private async fill(offset: number, out: Uint8Array, signal?: AbortSignal): Promise<void> {
    const d = this.dynamic;
    if (!d) {
      // Fixed: the data is the file's start; bytes a short file lacks read as zeros.
      const have = Math.max(0, Math.min(out.length, this.source.size - F.LENGTH - offset));
      if (have) await readInto(this.source, offset, out.subarray(0, have), signal);
      if (have < out.length) out.fill(0, have);
      return;
    }
    const work: Promise<void>[] = [];
    const track = (p: Promise<void>) => {
      p.catch(() => undefined);
      work.push(p);
    };
    const where: Where = { layer: 'container', format: 'vhd', device: this.label, structure: 'BAT' };
    let pos = offset;
    const end = offset + out.length;
    while (pos < end) {
      const block = Math.floor(pos / d.blockBytes);
      const inBlock = pos - block * d.blockBytes;
      const n = Math.min(d.blockBytes - inBlock, end - pos);
      const slot = out.subarray(pos - offset, pos - offset + n);
      const entry = d.bat[block] ?? UNUSED;
      const from = pos;
      if (entry === UNUSED) {
        if (this.backing) track(readInto(this.backing, from, slot, signal));
        else slot.fill(0);
      } else {
        const bitmapAt = entry * SECTOR;
        const dataAt = bitmapAt + d.bitmapBytes;
        if (dataAt + inBlock + n > this.source.size) {
          throw new DiskProbeError(ErrorCode.CORRUPT, `block ${block} at sector ${entry} lies past the end of the file`, { ...where, value: entry });
        }
        // Sectors whose bitmap bit is set are in this file; the others read from the parent
        // (differencing) or as zeros (dynamic), in runs of equal bits. With the bitmap already
        // here the reads start without an await.
        const runs = (bits: Uint8Array, parts: Promise<void>[]) => {
          let s = Math.floor(inBlock / SECTOR);
          let at = inBlock;
          const stop = inBlock + n;
          while (at < stop) {
            const set = (bits[s >> 3]! & (0x80 >> (s & 7))) !== 0;
            let runEnd = Math.min(stop, (s + 1) * SECTOR);
            let t = s + 1;
            while (runEnd < stop && ((bits[t >> 3]! & (0x80 >> (t & 7))) !== 0) === set) {
              runEnd = Math.min(stop, (t + 1) * SECTOR);
              t++;
            }
            const part = slot.subarray(at - inBlock, runEnd - inBlock);
            if (set) parts.push(readInto(this.source, dataAt + at, part, signal));
            else if (this.backing) parts.push(readInto(this.backing, block * d.blockBytes + at, part, signal));
            else part.fill(0);
            at = runEnd;
            s = t;
          }
        };
        const ready = this.bitmapsReady.get(block);
        if (ready) {
          const parts: Promise<void>[] = [];
          runs(ready, parts);
          for (const p of parts) track(p);
        } else {
          track(
            this.bitmap(block, bitmapAt, signal).then(async (bits) => {
              const parts: Promise<void>[] = [];
              runs(bits, parts);
              await Promise.all(parts);
            }),
          );
        }
      }
      pos += n;
    }
    await Promise.all(work);
  }
}

/** Opens a VHD: fixed, dynamic or differencing (its parent through `options.resolver`). */
export async function openVhd(dev: BlockDevice, options: OpenOptions, openDisk: OpenDisk): Promise<Disk> {
  const { signal } = options;
  const where: Where = { layer: 'container', format: 'vhd', device: dev.label };
  if (dev.size < F.LENGTH) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the file is shorter than a VHD footer', { ...where, structure: 'Footer', value: dev.size });
  const findings: Finding[] = [];
  const tailAt = dev.size - F.LENGTH;
  const tail = await dev.read(tailAt, F.LENGTH, signal);
  const head = dev.size >= 2 * F.LENGTH ? await dev.read(0, F.LENGTH, signal) : undefined;
  let footerBytes = tail;
  let footerAt = tailAt;
  if (!hasBytes(tail, 0, FOOTER_COOKIE)) {
    if (head && hasBytes(head, 0, FOOTER_COOKIE)) {
      footerBytes = head;
      footerAt = 0;
      findings.push({ severity: 'error', code: 'vhd.footer-missing', message: 'the footer at the end is missing (the file was cut short); the copy at offset 0 is used', offset: tailAt });
    } else throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no "conectix" footer at the end of the file or at 0', { ...where, structure: 'Footer', offset: tailAt });
  }
  const footer = decodeFooter(footerBytes, footerAt, where);
  if (!footer.checksumValid) findings.push({ severity: 'warning', code: 'vhd.footer-checksum', message: 'the footer checksum does not match its bytes', offset: footerAt + F.checksum });
  const type = DISK_TYPES[footer.diskType];
  if (!type) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `disk type ${footer.diskType} is not fixed (2), dynamic (3) or differencing (4)`, { ...where, structure: 'Footer', field: 'disk_type', offset: footerAt + F.disk_type, value: footer.diskType });
  if (footer.savedState) findings.push({ severity: 'warning', code: 'vhd.saved-state', message: 'saved state is set: the disk belongs to a virtual machine that was saved, not shut down', offset: footerAt + F.saved_state });
  const rule = vhdSize(footer);
  if (rule.size !== footer.currentSize) findings.push({ severity: 'info', code: 'vhd.size-rule', message: `virtual size ${rule.size} from the CHS geometry (creator "${footer.creatorApplication.trim()}"), not current_size ${footer.currentSize}, as qemu reads it; Hyper-V and Azure use current_size` });
  const size = rule.size;

  if (type === 'fixed') {
    if (dev.size - F.LENGTH < size) findings.push({ severity: 'warning', code: 'vhd.fixed-short', message: `a fixed disk of ${size} bytes in a file of ${dev.size}: the rest reads as zeros` });
    return new VhdDisk(dev, size, footer, rule, findings, undefined, undefined);
  }

  if (head && footerAt !== 0) {
    if (!hasBytes(head, 0, FOOTER_COOKIE)) findings.push({ severity: 'warning', code: 'vhd.no-footer-copy', message: 'a dynamic disk without the footer copy at offset 0' });
    else if (!head.every((b, i) => b === tail[i])) findings.push({ severity: 'warning', code: 'vhd.footers-differ', message: 'footers not identical: the copy at offset 0 differs from the footer at the end' });
  }
  if (footer.dataOffset > BigInt(dev.size - Dyn.LENGTH)) throw new DiskProbeError(ErrorCode.CORRUPT, `the dynamic header's offset ${footer.dataOffset} lies past the end of the file`, { ...where, structure: 'Footer', field: 'data_offset', offset: footerAt + F.data_offset });
  const hdrAt = Number(footer.dataOffset);
  const hb = await dev.read(hdrAt, Dyn.LENGTH, signal);
  if (!hasBytes(hb, 0, DYNAMIC_COOKIE)) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no "cxsparse" dynamic disk header where the footer points', { ...where, structure: 'Dynamic Disk Header', offset: hdrAt });
  const hv = viewOf(hb);
  let sum = 0;
  for (let i = 0; i < Dyn.LENGTH; i++) if (i < Dyn.checksum || i >= Dyn.checksum + 4) sum = (sum + hb[i]!) >>> 0;
  if ((~sum >>> 0) !== hv.getUint32(Dyn.checksum)) findings.push({ severity: 'warning', code: 'vhd.header-checksum', message: 'the dynamic disk header checksum does not match its bytes', offset: hdrAt + Dyn.checksum });
  const hw = (field: string, o: number): Where => ({ ...where, structure: 'Dynamic Disk Header', field, offset: hdrAt + o });
  const tableAt = u64(hv, Dyn.table_offset, false, hw('table_offset', Dyn.table_offset));
  const entries = hv.getUint32(Dyn.max_table_entries);
  const blockBytes = hv.getUint32(Dyn.block_size);
  if (blockBytes < SECTOR || blockBytes > MAX_BLOCK_BYTES || (blockBytes & (blockBytes - 1)) !== 0) {
    throw new DiskProbeError(ErrorCode.CORRUPT, `block_size ${blockBytes} is not a power of two from 512 bytes to 256 MiB`, { ...hw('block_size', Dyn.block_size), value: blockBytes });
  }
  if (entries > MAX_BAT_ENTRIES) throw new DiskProbeError(ErrorCode.LIMIT, `max_table_entries ${entries} (limit ${MAX_BAT_ENTRIES})`, { ...hw('max_table_entries', Dyn.max_table_entries), value: entries });
  if (entries * blockBytes < size) findings.push({ severity: 'warning', code: 'vhd.bat-short', message: `${entries} BAT entries of ${blockBytes} bytes cover less than the ${size}-byte disk; the rest reads as unallocated` });
  if (tableAt + entries * 4 > dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, 'the block allocation table runs past the end of the file', { ...hw('table_offset', Dyn.table_offset), value: tableAt });
  const raw = entries ? await dev.read(tableAt, entries * 4, signal) : new Uint8Array(0);
  const bv = viewOf(raw);
  const bat = new Uint32Array(entries);
  for (let i = 0; i < entries; i++) bat[i] = bv.getUint32(i * 4);
  const bitmapBytes = Math.ceil(blockBytes / SECTOR / 8 / SECTOR) * SECTOR;
  const header: Record<string, unknown> = { tableOffset: tableAt, maxTableEntries: entries, headerVersion: `${hv.getUint16(Dyn.header_version)}.${hv.getUint16(Dyn.header_version + 2)}` };

  let parent: Disk | undefined;
  if (type === 'differencing') {
    const parentId = toHex(hb.subarray(Dyn.parent_unique_id, Dyn.parent_unique_id + 16));
    const parentTime = hv.getUint32(Dyn.parent_time_stamp);
    const unicodeName = utf16(hb.subarray(Dyn.parent_unicode_name, Dyn.parent_unicode_name + 512), false);
    const locators: { code: string; name: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const o = Dyn.parent_locator_entries + i * 24;
      const code = latin1(hb, o, o + 4);
      const length = hv.getUint32(o + 8);
      const at = Number(hv.getBigUint64(o + 16));
      if (!/^(W2ku|W2ru|MacX|Wi2k|Wi2r|Mac )$/.test(code) || length === 0 || length > 64 * 1024 || at + length > dev.size) continue;
      const data = await dev.read(at, length, signal);
      const name = code === 'MacX' ? decodeURI(new TextDecoder().decode(data).replace(/^file:\/\//, '')) : code.startsWith('W2') ? utf16(data, true) : latin1(data);
      locators.push({ code, name });
    }
    header.parentUniqueId = parentId;
    header.parentTimeStamp = parentTime;
    header.parentUnicodeName = unicodeName;
    header.parentLocators = locators;
    // Relative locators first: they survive moving the chain together.
    const order = ['W2ru', 'Wi2r', 'MacX', 'W2ku', 'Wi2k', 'Mac '];
    const candidates = [...locators.sort((a, b) => order.indexOf(a.code) - order.indexOf(b.code)).map((l) => l.name), unicodeName].filter(Boolean);
    if (!candidates.length) throw new DiskProbeError(ErrorCode.CORRUPT, 'a differencing disk with no parent locator and no parent name', { ...where, structure: 'Dynamic Disk Header', field: 'parent_locator_entries' });
    const chain = options.chain ?? { depth: 0, seen: new Set<string>() };
    const self = dev.path ?? dev.label;
    if (chain.seen.has(self)) throw new DiskProbeError(ErrorCode.REFUSED, 'the chain of parent disks loops back to a disk already in it', { ...where, structure: 'parent locator' });
    const maxDepth = options.maxChainDepth ?? DEFAULT_LIMITS.maxChainDepth;
    if (chain.depth + 1 > maxDepth) throw new DiskProbeError(ErrorCode.LIMIT, `chain of parent disks deeper than ${maxDepth}`, { ...where, structure: 'parent locator', expected: `maxChainDepth ${maxDepth}` });
    let lastError: unknown;
    for (const name of candidates) {
      // Windows paths: the resolver takes / or \\; a relative locator starts with .\\.
      const clean = name.replace(/\\/g, '/').replace(/^\.\//, '');
      try {
        const pdev = await resolve(options, { name: clean, kind: 'parent', from: dev.label, fromDevice: dev, format: 'vhd' }, where);
        const popts: OpenOptions = { ...options, chain: { depth: chain.depth + 1, seen: new Set([...chain.seen, self]) } };
        delete popts.format;
        parent = await openDisk(pdev, popts);
        break;
      } catch (e) {
        if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED || e.code === ErrorCode.LIMIT || (e.code === ErrorCode.REFUSED && /loops/.test(e.message))) throw e;
        lastError = e;
      }
    }
    if (!parent) throw lastError instanceof DiskProbeError ? lastError : new DiskProbeError(ErrorCode.MISSING, 'no parent locator led to a readable parent', { ...where, structure: 'parent locator' });
    if (parent.format === 'vhd') {
      const pf = parent.facts as { uniqueId?: string; timeStamp?: number };
      if (pf.uniqueId !== parentId) findings.push({ severity: 'warning', code: 'vhd.parent-id', message: `the parent's unique id ${pf.uniqueId} is not the ${parentId} this differencing disk was made from` });
      if (pf.timeStamp !== undefined && pf.timeStamp !== parentTime) findings.push({ severity: 'info', code: 'vhd.parent-time', message: `the parent's time stamp ${pf.timeStamp} differs from the recorded ${parentTime} (the parent changed after this disk was made?)` });
    }
  }
  return new VhdDisk(dev, size, footer, rule, findings, { bat, blockBytes, bitmapBytes, header }, parent);
}
