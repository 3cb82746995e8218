/**
 * OVA packages: a tar (ustar, pax or GNU names) whose first member is the OVF descriptor,
 * optionally a manifest (`.mf`: `SHA256(name)= hex` lines) and certificate, then the disks
 * (DMTF DSP0243, 5.3). The members are located by walking the tar headers and read in place:
 * a disk is a slice of the package, opened like any image, never extracted.
 */
import { slice } from '../../device/slice.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { BLOCK, checksumValid, MAX_LONG_NAME, memberName, memberSize, TarHeader } from '../other/tar.js';
import type { Disk, Finding, OpenOptions } from '../types.js';
import { parseOvf, type Ovf, type OvfDisk } from './ovf.js';

export { parseOvf, unitBytes, type Ovf, type OvfDisk, type OvfFile, type OvfSystem, type OvfController } from './ovf.js';

/** Members listed at most. */
const MAX_MEMBERS = 10_000;
/** Largest OVF descriptor or manifest read. */
const MAX_TEXT_BYTES = 16 * 1024 * 1024;

export interface TarMember {
  name: string;
  /** Byte offset of the member's data in the package, and its size. */
  offset: number;
  size: number;
  /** The header's offset. */
  header: number;
  type: string;
}

export interface ManifestEntry {
  algorithm: 'SHA1' | 'SHA256' | 'SHA512';
  file: string;
  digest: string;
  line: number;
}

export interface Ova {
  source: BlockDevice;
  members: TarMember[];
  descriptor: TarMember;
  ovf: Ovf;
  manifest?: { member: TarMember; entries: ManifestEntry[] };
  findings: Finding[];
}

/** Lists a tar's members by walking its headers (each read in place: a 512-byte read per member). */
export async function listTar(dev: BlockDevice, signal?: AbortSignal): Promise<{ members: TarMember[]; findings: Finding[] }> {
  const where: Where = { layer: 'container', format: 'tar', device: dev.label };
  const members: TarMember[] = [];
  const findings: Finding[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + BLOCK <= dev.size) {
    const h = await dev.read(at, BLOCK, signal);
    if (h.every((b) => b === 0)) break;
    if (!checksumValid(h)) throw new DiskProbeError(ErrorCode.CORRUPT, 'a tar header with a wrong checksum', { ...where, structure: 'ustar header', field: 'chksum', offset: at + TarHeader.chksum });
    const size = memberSize(h);
    if (size === undefined) throw new DiskProbeError(ErrorCode.CORRUPT, 'a tar header whose size is not a number', { ...where, structure: 'ustar header', field: 'size', offset: at + TarHeader.size });
    const data = at + BLOCK;
    if (data + size > dev.size) throw new DiskProbeError(ErrorCode.TRUNCATED, `member ${longName ?? memberName(h)} needs ${size} bytes, the package ends first`, { ...where, structure: 'member', offset: data, value: size });
    const type = String.fromCharCode(h[TarHeader.typeflag]!);
    if (type === 'x' || type === 'L') {
      const record = await dev.read(data, Math.min(size, MAX_LONG_NAME), signal);
      const text = new TextDecoder('utf-8', { fatal: false }).decode(record);
      longName = type === 'L' ? text.replace(/\0.*$/s, '') : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1];
    } else if (type !== 'g') {
      if (members.length >= MAX_MEMBERS) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_MEMBERS} members`, { ...where, offset: at });
      members.push({ name: longName ?? memberName(h), offset: data, size, header: at, type: type === '\0' ? '0' : type });
      longName = undefined;
    }
    at = data + Math.ceil(size / BLOCK) * BLOCK;
  }
  if (at + BLOCK > dev.size && at < dev.size) findings.push({ severity: 'warning', code: 'tar.no-end', message: 'the archive ends without its two zero blocks', offset: at });
  return { members, findings };
}

/** Parses a manifest: `SHA256(file)= hex` lines (`SHA1`, `SHA512` too). */
export function parseManifest(text: string): { entries: ManifestEntry[]; unparsed: number[] } {
  const entries: ManifestEntry[] = [];
  const unparsed: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const m = /^(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line);
    if (m) entries.push({ algorithm: m[1] as ManifestEntry['algorithm'], file: m[2]!, digest: m[3]!.toLowerCase(), line: i + 1 });
    else unparsed.push(i + 1);
  });
  return { entries, unparsed };
}

async function readText(dev: BlockDevice, m: TarMember, what: string, signal?: AbortSignal): Promise<string> {
  if (m.size > MAX_TEXT_BYTES) throw new DiskProbeError(ErrorCode.LIMIT, `the ${what} is ${m.size} bytes (limit ${MAX_TEXT_BYTES})`, { layer: 'container', format: 'ova', device: dev.label, structure: what, offset: m.offset, value: m.size });
  return new TextDecoder('utf-8', { fatal: false }).decode(await dev.read(m.offset, m.size, signal));
}

/** Opens an OVA package: its members, OVF descriptor and manifest. */
export async function openOva(dev: BlockDevice, options: { signal?: AbortSignal } = {}): Promise<Ova> {
  const { signal } = options;
  const { members, findings } = await listTar(dev, signal);
  const descriptor = members[0];
  const where: Where = { layer: 'container', format: 'ova', device: dev.label };
  if (!descriptor || !/\.ovf$/i.test(descriptor.name)) {
    throw new DiskProbeError(ErrorCode.CORRUPT, `the first member is ${descriptor ? `"${descriptor.name}"` : 'missing'}, not an .ovf descriptor (DSP0243 5.3)`, { ...where, structure: 'member', offset: 0 });
  }
  const ovf = parseOvf(await readText(dev, descriptor, 'OVF descriptor', signal), descriptor.name);
  const ova: Ova = { source: dev, members, descriptor, ovf, findings };
  const mf = members.find((m) => /\.mf$/i.test(m.name));
  if (mf) {
    const parsed = parseManifest(await readText(dev, mf, 'manifest', signal));
    for (const line of parsed.unparsed.slice(0, 8)) findings.push({ severity: 'warning', code: 'ova.manifest-line', message: `${mf.name} line ${line} is not a "SHA256(file)= digest" line` });
    ova.manifest = { member: mf, entries: parsed.entries };
    if (members.indexOf(mf) !== 1) findings.push({ severity: 'info', code: 'ova.manifest-order', message: `${mf.name} is not the second member (DSP0243 5.3 puts the manifest right after the descriptor)` });
  }
  for (const f of ovf.files) {
    const m = members.find((x) => x.name === f.href);
    if (!m) findings.push({ severity: 'error', code: 'ova.file-missing', message: `the OVF references ${f.href} (${f.id}), which is not in the package` });
    else if (f.size !== undefined && f.size !== m.size) findings.push({ severity: 'warning', code: 'ova.file-size', message: `the OVF gives ${f.href} ${f.size} bytes, the package holds ${m.size}`, offset: m.header });
  }
  return ova;
}

/** The member holding a disk of the OVF (by diskId or index). */
export function diskMember(ova: Ova, disk: string | number = 0): { disk: OvfDisk; member: TarMember; compression?: string } {
  const d = typeof disk === 'number' ? ova.ovf.disks[disk] : ova.ovf.disks.find((x) => x.diskId === disk);
  const where: Where = { layer: 'container', format: 'ova', device: ova.source.label };
  if (!d) throw new DiskProbeError(ErrorCode.ARGUMENT, `the OVF has no disk ${disk} (disks: ${ova.ovf.disks.map((x) => x.diskId).join(', ') || 'none'})`, where);
  const file = ova.ovf.files.find((f) => f.id === d.fileRef);
  if (!file) throw new DiskProbeError(ErrorCode.CORRUPT, `disk ${d.diskId} refers to file ${d.fileRef ?? '(none)'}, which References does not list`, { ...where, structure: 'Disk' });
  const member = ova.members.find((m) => m.name === file.href);
  if (!member) throw new DiskProbeError(ErrorCode.MISSING, `disk ${d.diskId}'s file ${file.href} is not in the package`, { ...where, structure: 'File' });
  return file.compression ? { disk: d, member, compression: file.compression } : { disk: d, member };
}

/** Opens one disk of an OVA in place (a slice of the package), with `openDisk`. */
export async function openOvaDisk(ova: Ova, disk: string | number, options: OpenOptions, openDisk: (dev: BlockDevice, options: OpenOptions) => Promise<Disk>): Promise<Disk> {
  const { member, compression, disk: d } = diskMember(ova, disk);
  if (compression) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `disk ${d.diskId} is stored ${compression}-compressed inside the package; this version reads uncompressed members only`, { layer: 'container', format: 'ova', device: ova.source.label, structure: 'File', field: 'compression' });
  const dev = slice(ova.source, member.offset, member.size, member.name);
  const format = /vmdk/i.test(d.format ?? member.name) ? 'vmdk' : undefined;
  const opened = await openDisk(dev, { ...options, ...(format ? { format } : {}) });
  if (d.capacity !== undefined && d.capacity !== opened.size) {
    (opened.findings as Finding[] | undefined)?.push({ severity: 'warning', code: 'ova.capacity', message: `the OVF gives disk ${d.diskId} a capacity of ${d.capacity} bytes, the disk holds ${opened.size}` });
  }
  return opened;
}

/** A streaming hash, as `node:crypto`'s `createHash` gives (or any implementation). */
export interface Hasher {
  update(bytes: Uint8Array): void;
  digest(): string;
}

/** Checks each manifest entry against the member's bytes, read in order with progress. */
export async function verifyManifest(ova: Ova, createHasher: (algorithm: ManifestEntry['algorithm']) => Hasher, options: { signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void; chunkBytes?: number } = {}): Promise<{ file: string; algorithm: string; ok: boolean; expected: string; actual?: string; reason?: string }[]> {
  const entries = ova.manifest?.entries ?? [];
  const targets = entries.map((e) => ({ e, m: ova.members.find((x) => x.name === e.file) }));
  const total = targets.reduce((n, t) => n + (t.m?.size ?? 0), 0);
  const chunk = options.chunkBytes ?? 4 * 1024 * 1024;
  let done = 0;
  const out = [];
  for (const { e, m } of targets) {
    if (!m) {
      out.push({ file: e.file, algorithm: e.algorithm, ok: false, expected: e.digest, reason: 'not in the package' });
      continue;
    }
    const h = createHasher(e.algorithm);
    for (let at = 0; at < m.size; at += chunk) {
      const n = Math.min(chunk, m.size - at);
      h.update(await ova.source.read(m.offset + at, n, options.signal));
      done += n;
      options.onProgress?.(done, total);
    }
    const actual = h.digest().toLowerCase();
    out.push({ file: e.file, algorithm: e.algorithm, ok: actual === e.digest, expected: e.digest, actual });
  }
  return out;
}
