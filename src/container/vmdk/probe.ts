import { exact, u64 } from '../../errors.js';
import { beforeNul, hasBytes, isAllZero, latin1, viewOf } from '../../util/bytes.js';
import type { Evidence, FormatProbe, ProbeContext, ProbeMatch, ProbeOutcome } from '../types.js';
import { descriptorSize, parseDescriptor, type Descriptor } from './descriptor.js';
import {
  COWD_MAGIC,
  COWDiskHeader as C,
  MAX_DESCRIPTOR_BYTES,
  SPARSE_MAGIC,
  SparseExtentHeader as S,
  SparseFlags,
} from './layout.js';

/** createType values that name extents diskprobe will never read (raw device mappings). */
const DEVICE_TYPES = /^(vmfsRaw|vmfsRDM|vmfsRawDeviceMap|vmfsRDMP|vmfsPassthroughRawDeviceMap|fullDevice|partitionedDevice)$/i;

function descriptorFacts(d: Descriptor): Record<string, unknown> {
  const facts: Record<string, unknown> = {
    createType: d.header.createtype,
    extents: d.extents.map((e) => ({ access: e.access, sectors: e.sectors, type: e.type, file: e.file, offset: e.offset })),
  };
  if (d.header.parentcid !== undefined && d.header.parentcid.toLowerCase() !== 'ffffffff') facts.parentCID = d.header.parentcid;
  if (d.header.parentfilenamehint !== undefined) facts.parentFileNameHint = d.header.parentfilenamehint;
  if (d.ddb['ddb.adaptertype'] !== undefined) facts.adapterType = d.ddb['ddb.adaptertype'];
  return facts;
}

function deviceProblem(createType: string | undefined): string | undefined {
  if (createType && DEVICE_TYPES.test(createType)) {
    return `createType ${createType} maps a physical device, not an image file: no cloud imports it`;
  }
  return undefined;
}

async function sparse(ctx: ProbeContext): Promise<ProbeOutcome> {
  if (ctx.head.length < S.LENGTH) return { reject: '"KDMV" magic, but shorter than a sparse extent header' };
  const view = viewOf(ctx.head);
  const where = { layer: 'container' as const, format: 'vmdk', device: ctx.dev.label, structure: 'SparseExtentHeader' };
  const version = view.getUint32(S.version, true);
  const flags = view.getUint32(S.flags, true);
  const capacity = u64(view, S.capacity, true, { ...where, field: 'capacity', offset: S.capacity });
  const descOffset = u64(view, S.descriptorOffset, true, { ...where, field: 'descriptorOffset', offset: S.descriptorOffset });
  const descSize = u64(view, S.descriptorSize, true, { ...where, field: 'descriptorSize', offset: S.descriptorSize });
  const compress = view.getUint16(S.compressAlgorithm, true);
  const evidence: Evidence[] = [
    { offset: 0, what: 'magic "KDMV" (hosted sparse extent)' },
    { offset: S.version, what: `version = ${version}` },
    { offset: S.capacity, what: `capacity = ${capacity} sectors` },
  ];
  const streamed = (flags & SparseFlags.compressedGrains) !== 0 && (flags & SparseFlags.markers) !== 0;
  const match: ProbeMatch = {
    format: 'vmdk',
    kind: 'disk',
    virtualSize: exact(capacity * 512, { ...where, field: 'capacity', offset: S.capacity }),
    evidence,
    facts: { extentType: 'SPARSE', version, flags, compressAlgorithm: compress, grainSize: Number(view.getBigUint64(S.grainSize, true)) },
  };
  if (descOffset > 0 && descSize > 0) {
    const at = descOffset * 512;
    const length = Math.min(descSize * 512, MAX_DESCRIPTOR_BYTES);
    const bytes = ctx.peek(at, length) ?? (await ctx.read(at, length));
    if (bytes) {
      const d = parseDescriptor(latin1(beforeNul(bytes)));
      evidence.push({ offset: at, what: `embedded descriptor, createType "${d.header.createtype ?? '?'}"` });
      Object.assign(match.facts!, descriptorFacts(d));
      match.subformat = d.header.createtype;
      const problem = deviceProblem(d.header.createtype);
      if (problem) match.problem = problem;
    }
  }
  if (match.subformat === undefined) {
    // No embedded descriptor: one extent of a split (twoGbMaxExtentSparse) disk, or a
    // streamOptimized file written without one.
    match.subformat = streamed ? 'streamOptimized' : 'sparseExtent';
    if (!streamed) {
      match.problem = 'a sparse extent with no embedded descriptor: one file of a multi-file VMDK; open its descriptor file';
    }
  }
  return match;
}

function cowd(ctx: ProbeContext): ProbeOutcome {
  if (ctx.head.length < C.LENGTH) return { reject: '"COWD" magic, but shorter than an ESX sparse header' };
  const view = viewOf(ctx.head);
  const version = view.getUint32(C.version, true);
  const sectors = view.getUint32(C.numSectors, true);
  return {
    format: 'vmdk',
    kind: 'disk',
    subformat: 'vmfsSparse',
    virtualSize: sectors * 512,
    evidence: [
      { offset: 0, what: 'magic "COWD" (ESX Server sparse extent)' },
      { offset: C.version, what: `version = ${version}` },
      { offset: C.numSectors, what: `numSectors = ${sectors}` },
    ],
    facts: { extentType: 'VMFSSPARSE', version, grainSize: view.getUint32(C.grainSize, true) },
  };
}

/** Whether the start of a file reads as a VMDK text descriptor. */
function looksLikeDescriptor(ctx: ProbeContext): string | undefined {
  if (ctx.size > MAX_DESCRIPTOR_BYTES) return 'larger than a text descriptor can be';
  const sample = ctx.head.subarray(0, Math.min(ctx.head.length, 4096));
  // Descriptors may be padded with NULs to a sector boundary (qemu pads to 512 bytes).
  const nul = sample.indexOf(0);
  const text = nul >= 0 ? sample.subarray(0, nul) : sample;
  if (nul >= 0 && !isAllZero(sample.subarray(nul))) return `not text: byte 0x0 at ${nul} followed by data`;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return `not text: byte 0x${c.toString(16)} at ${i}`;
  }
  const header = latin1(text);
  if (!/^\s*#\s*Disk\s*DescriptorFile/i.test(header) && !/^\s*createType\s*=/im.test(header)) {
    return 'text, but no "# Disk DescriptorFile" header or createType line';
  }
  return undefined;
}

async function descriptorFile(ctx: ProbeContext): Promise<ProbeOutcome> {
  const notText = looksLikeDescriptor(ctx);
  if (notText) return { reject: notText };
  const bytes = ctx.peek(0, ctx.size) ?? (await ctx.read(0, ctx.size));
  if (!bytes) return { reject: 'could not read the descriptor text' };
  const d = parseDescriptor(latin1(beforeNul(bytes)));
  const createType = d.header.createtype;
  const match: ProbeMatch = {
    format: 'vmdk',
    kind: 'disk',
    evidence: [{ offset: 0, what: `text descriptor, createType "${createType ?? '?'}", ${d.extents.length} extent line(s)` }],
    facts: { extentType: 'descriptor', ...descriptorFacts(d) },
  };
  if (createType !== undefined) match.subformat = createType;
  const size = descriptorSize(d);
  if (size !== undefined) match.virtualSize = size;
  const problem = deviceProblem(createType) ?? (d.extents.length === 0 ? 'a descriptor with no extent lines' : undefined);
  if (problem) match.problem = problem;
  return match;
}

/** Recognises VMDK: hosted sparse (`KDMV`), ESX sparse (`COWD`) and text descriptor files. */
export const vmdkProbe: FormatProbe = {
  formats: ['vmdk'],
  probe(ctx) {
    if (hasBytes(ctx.head, 0, SPARSE_MAGIC)) return sparse(ctx);
    if (hasBytes(ctx.head, 0, COWD_MAGIC)) return cowd(ctx);
    return { reject: 'no "KDMV" or "COWD" magic at 0' };
  },
};

/** Recognises a VMDK text descriptor file; runs late, after the binary formats. */
export const vmdkDescriptorProbe: FormatProbe = {
  formats: ['vmdk'],
  probe: descriptorFile,
};
