/**
 * VMDK disks: a descriptor (embedded in a sparse extent, or a text file) lists extents — hosted
 * sparse (`SPARSE`), flat (`FLAT`, `VMFS`), `ZERO` — laid end to end; a delta disk names its
 * parent by `parentFileNameHint` and `parentCID`, and reads what it has not allocated from it.
 * References: VMware "Virtual Disk Format 5.0" technote ("The Descriptor File", "Extent
 * Descriptions", "Hosted Sparse Extent Header"); qemu's block/vmdk.c for what qemu-img writes.
 */
import { browserCodecs } from '../../codec/index.js';
import { cached } from '../../device/cached.js';
import { checkRead } from '../../device/check.js';
import { readInto } from '../../device/read-into.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { beforeNul, hasBytes, latin1 } from '../../util/bytes.js';
import type { Disk, Finding, OpenOptions, Reference } from '../types.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { parseDescriptor, type Descriptor, type ExtentLine } from './descriptor.js';
import { COWD_MAGIC, MAX_DESCRIPTOR_BYTES, SPARSE_MAGIC, VmdkLimits } from './layout.js';
import { readCowdHeader, readSparseHeader, SparseExtent, type SparseHeader } from './sparse.js';

const SECTOR = 512;
/** Compressed grains lie one after another: read them through a block cache, as qcow2 does. */
const COMPRESSED_CACHE = { blockSize: 512 * 1024, maxBytes: 4 * 1024 * 1024 };

type OpenDisk = (dev: BlockDevice, options: OpenOptions) => Promise<Disk>;

/** One extent of the disk, placed at `start` bytes of the guest. */
interface Extent {
  start: number;
  size: number;
  line: ExtentLine;
  /** The file it is read from (a flat extent's bytes start at `base`). */
  dev?: BlockDevice;
  base: number;
  sparse?: SparseExtent;
}

/** Extent types that map a device or need a format diskprobe does not read, with why. */
const REFUSED: Record<string, string> = {
  VMFSRDM: 'a raw device mapping (VMFSRDM) points at a physical LUN, not at data in a file',
  VMFSRAW: 'a raw device extent (VMFSRAW) points at a physical device, not at data in a file',
  SESPARSE: 'SEsparse extents (vSphere 6.5+ snapshots) are not read by this version; consolidate the snapshot or export the disk with vmkfstools -i … -d thin',
};

function identity(dev: BlockDevice): string {
  return dev.path ?? dev.label;
}

async function resolve(options: OpenOptions, ref: Reference, where: Where): Promise<BlockDevice> {
  if (!options.resolver) {
    throw new DiskProbeError(ErrorCode.REFUSED, `the VMDK refers to ${ref.kind === 'parent' ? 'a parent disk' : 'an extent file'} "${ref.name}"; pass a resolver to read it`, { ...where, structure: 'descriptor', value: ref.name });
  }
  return options.resolver(ref, options.signal);
}

/** A VMDK's descriptor, parsed, and where it came from. */
interface Found {
  descriptor: Descriptor;
  /** The sparse header of the file itself, when it is a sparse extent. */
  sparse?: { header: SparseHeader; first: SparseHeader };
  embedded: boolean;
}

async function readDescriptor(dev: BlockDevice, where: Where, findings: Finding[], signal?: AbortSignal): Promise<Found> {
  const head = await dev.read(0, Math.min(dev.size, 4), signal);
  if (hasBytes(head, 0, COWD_MAGIC)) {
    // An ESX sparse extent opened on its own (a redo log without its descriptor): one extent.
    const h = await readCowdHeader(dev, where, findings, signal);
    findings.push({ severity: 'info', code: 'vmdk.no-descriptor', message: 'an ESX sparse (COWD) extent opened without its descriptor: read as one extent, with no parent' });
    const descriptor: Descriptor = { header: { createtype: 'vmfsSparse' }, extents: [{ access: 'RW', sectors: h.capacity, type: 'VMFSSPARSE', file: dev.label, line: 0 }], ddb: {}, unparsed: [] };
    return { descriptor, embedded: true };
  }
  if (hasBytes(head, 0, SPARSE_MAGIC)) {
    const sparse = await readSparseHeader(dev, where, findings, signal);
    const h = sparse.first.descriptorOffset > 0 ? sparse.first : sparse.header;
    if (h.descriptorOffset > 0 && h.descriptorSize > 0) {
      const at = h.descriptorOffset * SECTOR;
      const length = Math.min(h.descriptorSize * SECTOR, MAX_DESCRIPTOR_BYTES);
      if (at + length > dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, 'the embedded descriptor runs past the end of the file', { ...where, structure: 'SparseExtentHeader', field: 'descriptorOffset', offset: at });
      const descriptor = parseDescriptor(latin1(beforeNul(await dev.read(at, length, signal))));
      return { descriptor, sparse, embedded: true };
    }
    // A sparse extent with no descriptor (streamOptimized without one, or one file of a split
    // disk opened on its own): one SPARSE extent of its capacity.
    const descriptor: Descriptor = { header: { createtype: 'streamOptimized' }, extents: [{ access: 'RW', sectors: sparse.header.capacity, type: 'SPARSE', file: dev.label, line: 0 }], ddb: {}, unparsed: [] };
    findings.push({ severity: 'info', code: 'vmdk.no-descriptor', message: 'the sparse extent has no embedded descriptor: read as one extent of its capacity' });
    return { descriptor, sparse, embedded: true };
  }
  if (dev.size > MAX_DESCRIPTOR_BYTES) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'not a sparse extent, and too large to be a descriptor file', { ...where, structure: 'descriptor', value: dev.size });
  const descriptor = parseDescriptor(latin1(beforeNul(await dev.read(0, dev.size, signal))));
  return { descriptor, embedded: false };
}

/** An opened VMDK. */
class VmdkDisk implements Disk {
  readonly format = 'vmdk' as const;
  readonly subformat?: string;
  readonly size: number;
  readonly label: string;
  readonly backing?: Disk;

  constructor(
    readonly source: BlockDevice,
    private readonly extents: Extent[],
    readonly descriptor: Descriptor,
    readonly findings: Finding[],
    private readonly files: BlockDevice[],
    parent: Disk | undefined,
    private readonly sparseHeader: SparseHeader | undefined,
  ) {
    this.label = source.label;
    const last = extents[extents.length - 1];
    this.size = last ? last.start + last.size : 0;
    const t = descriptor.header.createtype;
    if (t) this.subformat = t;
    if (parent) this.backing = parent;
  }

  get facts(): Record<string, unknown> {
    const d = this.descriptor;
    const facts: Record<string, unknown> = {
      createType: d.header.createtype,
      version: d.header.version,
      CID: d.header.cid,
      parentCID: d.header.parentcid,
      extents: this.extents.map((e) => ({ access: e.line.access, sectors: e.line.sectors, type: e.line.type, file: e.line.file, offset: e.line.offset, ...(e.sparse ? { grainSize: e.sparse.header.grainSize, compressed: e.sparse.compressed, version: e.sparse.header.version } : {}) })),
      ddb: d.ddb,
      files: this.files.map((f) => f.label),
    };
    if (d.header.parentfilenamehint !== undefined) facts.parentFileNameHint = d.header.parentfilenamehint;
    if (this.sparseHeader) facts.sparseHeader = { ...this.sparseHeader };
    return facts;
  }

  /** The hosted sparse extents, in order (for the integrity check). */
  sparseExtents(): readonly SparseExtent[] {
    return this.extents.flatMap((e) => (e.sparse ? [e.sparse] : []));
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('vmdk', this.label, this.size, offset, length, signal);
    const out = new Uint8Array(length);
    if (length) await this.fill(offset, out, signal);
    return out;
  }

  async readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    checkRead('vmdk', this.label, this.size, offset, target.length, signal);
    if (target.length) await this.fill(offset, target, signal);
  }

  private async fill(offset: number, out: Uint8Array, signal?: AbortSignal): Promise<void> {
    const end = offset + out.length;
    const work: Promise<void>[] = [];
    for (const e of this.extents) {
      if (e.start + e.size <= offset || e.start >= end) continue;
      const from = Math.max(offset, e.start);
      const to = Math.min(end, e.start + e.size);
      work.push(this.fillExtent(e, from, out.subarray(from - offset, to - offset), signal));
    }
    await Promise.all(work);
  }

  /** Guest bytes [at, at + target.length) that fall in extent `e`. */
  private async fillExtent(e: Extent, at: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    const inExtent = at - e.start;
    if (e.line.type === 'ZERO' || !e.dev) {
      target.fill(0);
      return;
    }
    if (!e.sparse) {
      // Flat: the file's bytes from `base`; past the file's end, zeros (noted on opening).
      const from = e.base + inExtent;
      const have = Math.max(0, Math.min(target.length, e.dev.size - from));
      if (have) await readInto(e.dev, from, target.subarray(0, have), signal);
      if (have < target.length) target.fill(0, have);
      return;
    }
    const sp = e.sparse;
    const gb = sp.grainBytes;
    const work: Promise<void>[] = [];
    // Reads start while later grains are looked up: a failure is seen by Promise.all, or by
    // the throw of a lookup, never left unhandled meanwhile.
    const track = (p: Promise<void>) => {
      p.catch(() => undefined);
      work.push(p);
    };
    // Uncompressed grains adjacent in the file are read together.
    let run: { file: number; out: number; length: number } | undefined;
    const flush = () => {
      if (!run) return;
      const r = run;
      run = undefined;
      track(readInto(sp.dev, r.file, target.subarray(r.out, r.out + r.length), signal));
    };
    let pos = inExtent;
    const stop = inExtent + target.length;
    while (pos < stop) {
      const g = Math.floor(pos / gb);
      const inGrain = pos - g * gb;
      const n = Math.min(gb - inGrain, stop - pos);
      const out = pos - inExtent;
      const entry = sp.entryNow(g) ?? (await sp.entry(g, signal));
      if (entry.kind === 'data') {
        const file = entry.offset + inGrain;
        if (run && run.file + run.length === file) run.length += n;
        else {
          flush();
          run = { file, out, length: n };
        }
      } else {
        flush();
        const slot = target.subarray(out, out + n);
        if (entry.kind === 'compressed') track(sp.grain(g, entry.offset, signal).then((grain) => slot.set(grain.subarray(inGrain, inGrain + n))));
        else if (entry.kind === 'unallocated' && this.backing) track(readInto(this.backing, e.start + pos, slot, signal));
        else slot.fill(0);
      }
      pos += n;
    }
    flush();
    await Promise.all(work);
  }
}

/**
 * Opens a VMDK: a sparse extent with its embedded descriptor (monolithicSparse,
 * streamOptimized), or a descriptor file whose extents (and parent) come through
 * `options.resolver`.
 */
export async function openVmdk(dev: BlockDevice, options: OpenOptions, openDisk: OpenDisk): Promise<Disk> {
  const { signal } = options;
  const where: Where = { layer: 'container', format: 'vmdk', device: dev.label };
  const findings: Finding[] = [];
  const found = await readDescriptor(dev, where, findings, signal);
  const d = found.descriptor;
  for (const u of d.unparsed.slice(0, 8)) findings.push({ severity: 'info', code: 'vmdk.descriptor-line', message: `descriptor line ${u.line} is not a key, an extent or a comment: ${u.text}` });
  if (!d.extents.length) throw new DiskProbeError(ErrorCode.CORRUPT, 'the descriptor lists no extents', { ...where, structure: 'descriptor' });
  if (d.extents.length > VmdkLimits.MAX_EXTENTS) throw new DiskProbeError(ErrorCode.LIMIT, `the descriptor lists ${d.extents.length} extents (limit ${VmdkLimits.MAX_EXTENTS})`, { ...where, structure: 'descriptor' });
  const createType = d.header.createtype;
  if (createType && /^(vmfsRaw|vmfsRDM|vmfsRawDeviceMap|vmfsRDMP|vmfsPassthroughRawDeviceMap|fullDevice|partitionedDevice)$/i.test(createType)) {
    throw new DiskProbeError(ErrorCode.UNSUPPORTED, `createType ${createType} maps a physical device, not an image file: no cloud imports it`, { ...where, structure: 'descriptor', field: 'createType', value: createType });
  }

  // The chain of delta links: loops and depth.
  const chain = options.chain ?? { depth: 0, seen: new Set<string>() };
  const self = identity(dev);
  if (chain.seen.has(self)) throw new DiskProbeError(ErrorCode.REFUSED, 'the chain of parent disks loops back to a disk already in it', { ...where, structure: 'descriptor', field: 'parentFileNameHint' });
  const nextChain = { depth: chain.depth + 1, seen: new Set([...chain.seen, self]) };

  const codecs = options.codecs ?? browserCodecs;
  const files: BlockDevice[] = [dev];
  const extents: Extent[] = [];
  let start = 0;
  for (const line of d.extents) {
    const size = line.sectors * SECTOR;
    if (!Number.isSafeInteger(start + size)) throw new DiskProbeError(ErrorCode.LIMIT, 'the extents add up to more than 2^53 bytes', { ...where, structure: 'extent', value: line.line });
    const e: Extent = { start, size, line, base: (line.offset ?? 0) * SECTOR };
    start += size;
    extents.push(e);
    if (line.access === 'NOACCESS') findings.push({ severity: 'warning', code: 'vmdk.noaccess-extent', message: `descriptor line ${line.line}: extent is NOACCESS and reads as zeros` });
    if (line.type === 'ZERO' || line.access === 'NOACCESS') continue;
    const refused = REFUSED[line.type];
    if (refused) throw new DiskProbeError(ErrorCode.UNSUPPORTED, refused, { ...where, structure: 'extent', field: 'type', value: line.type });
    if (line.type !== 'SPARSE' && line.type !== 'VMFSSPARSE' && line.type !== 'FLAT' && line.type !== 'VMFS') {
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, `extent type ${line.type} is not one diskprobe reads`, { ...where, structure: 'extent', field: 'type', value: line.type });
    }
    if (!line.file) throw new DiskProbeError(ErrorCode.CORRUPT, `descriptor line ${line.line}: the extent names no file`, { ...where, structure: 'extent' });
    // The embedded descriptor's extent is the file itself.
    const file = found.embedded && d.extents.length === 1 ? dev : await resolve(options, { name: line.file, kind: 'extent', from: dev.label, fromDevice: dev }, where);
    if (file !== dev) files.push(file);
    e.dev = file;
    if (line.type === 'SPARSE' || line.type === 'VMFSSPARSE') {
      const ew: Where = { ...where, device: file.label };
      const header = line.type === 'VMFSSPARSE' ? await readCowdHeader(file, ew, findings, signal) : file === dev && found.sparse ? found.sparse.header : (await readSparseHeader(file, ew, findings, signal)).header;
      e.sparse = await SparseExtent.open(file, header, codecs, ew, cached(file, COMPRESSED_CACHE), signal);
      if (header.capacity < line.sectors) findings.push({ severity: 'warning', code: 'vmdk.extent-short', message: `descriptor line ${line.line}: the extent holds ${header.capacity} sectors, the descriptor says ${line.sectors}; the rest reads as zeros` });
    } else if (e.base + size > file.size) {
      findings.push({ severity: 'warning', code: 'vmdk.flat-extent-short', message: `descriptor line ${line.line}: ${file.label} has ${file.size} bytes, the extent needs ${e.base + size}; the rest reads as zeros` });
    }
  }

  let parent: Disk | undefined;
  const parentCid = d.header.parentcid?.toLowerCase();
  if (parentCid !== undefined && parentCid !== 'ffffffff') {
    const hint = d.header.parentfilenamehint;
    if (!hint) throw new DiskProbeError(ErrorCode.CORRUPT, `parentCID is ${parentCid} but no parentFileNameHint names the parent`, { ...where, structure: 'descriptor', field: 'parentCID' });
    const maxDepth = options.maxChainDepth ?? DEFAULT_LIMITS.maxChainDepth;
    if (nextChain.depth > maxDepth) throw new DiskProbeError(ErrorCode.LIMIT, `chain of parent disks deeper than ${maxDepth}`, { ...where, structure: 'descriptor', field: 'parentFileNameHint', expected: `maxChainDepth ${maxDepth}` });
    const parentDev = await resolve(options, { name: hint, kind: 'parent', from: dev.label, fromDevice: dev, format: 'vmdk' }, where);
    const parentOptions: OpenOptions = { ...options, chain: nextChain };
    delete parentOptions.format;
    parent = await openDisk(parentDev, parentOptions);
    // CIDs are hex numbers; writers differ on leading zeros (qemu writes none).
    const theirs = parent.format === 'vmdk' ? String(parent.facts.CID ?? '').toLowerCase() : undefined;
    if (theirs !== undefined && parseInt(theirs, 16) !== parseInt(parentCid, 16)) {
      findings.push({ severity: 'warning', code: 'vmdk.parent-cid-mismatch', message: `parentCID ${parentCid} does not match the parent's CID ${theirs || '(none)'}: the parent changed after this delta was taken, and the guest may read inconsistent data` });
    }
  }
  return new VmdkDisk(dev, extents, d, findings, files, parent, found.sparse?.header);
}
