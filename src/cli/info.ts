import { parseArgs } from 'node:util';
import { DiskProbeError, probe, type Disk, type Finding } from '../index.js';
import { checkIntegrity, type IntegrityReport } from '../container/qcow2/index.js';
import { checkVmdkIntegrity, type VmdkIntegrityReport } from '../container/vmdk/index.js';
import { checkVhdIntegrity, type AllocationReport } from '../container/vhd/integrity.js';
import { openImage } from '../node/image.js';
import { openSource } from '../node/source.js';
import { ovaInfo } from './ova.js';
import { EXIT, humanSize, toJson, UsageError, type Io } from './io.js';

export const INFO_HELP = `Usage: diskprobe info [--json] [--check] [--snapshot NAME] <path|url>

Prints what an image says of itself, like qemu-img info: format, virtual and file size, the
header's fields, header extensions, internal snapshots, the backing chain (each file opened
read-only, next to the image, never outside its folder), and what the reader noticed (dirty or
corrupt flags). Formats diskprobe names but does not read yet are shown as probe sees them.
An OVA package is listed: its members, the OVF's virtual hardware (firmware, CPUs, memory,
controllers, network adapters, guest OS) and disks, each disk opened in place; with --check,
the manifest's digests are verified and each VMDK's metadata checked.

Options:
  --json           print one JSON object
  --check          also check the metadata's consistency, as qemu-img check does (qcow2, VMDK,
                   VHD, VHDX)
  --snapshot NAME  describe an internal snapshot instead of the active image
  -h, --help       show this help

Exit codes: 0 fine; 1 the image has a problem (probe problem, error findings, or --check found
corruptions or leaks); 2 usage error, or the image could not be read.
`;

interface ChainLink {
  label: string;
  format: string;
  virtualSize: number;
}

function chainOf(disk: Disk): ChainLink[] {
  const chain: ChainLink[] = [];
  for (let d: Disk | undefined = disk.backing; d; d = d.backing) chain.push({ label: d.label, format: d.format, virtualSize: d.size });
  return chain;
}

export async function infoCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, check: { type: 'boolean' }, snapshot: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('expected one image');
  const path = positionals[0]!;

  const source = await openSource(path);
  let probed;
  try {
    probed = await probe(source);
  } finally {
    await source.close?.();
  }

  if (probed.format === 'ova') return ovaInfo(path, { ...(values.json ? { json: true } : {}), ...(values.check ? { check: true } : {}) }, io);

  let disk: Disk | undefined;
  let integrity: IntegrityReport | VmdkIntegrityReport | AllocationReport | undefined;
  let close = async () => undefined as unknown;
  let openError: Error | undefined;
  if (probed.readable) {
    try {
      const opened = await openImage(path, values.snapshot === undefined ? {} : { snapshot: values.snapshot });
      disk = opened.disk;
      close = opened.close;
      if (values.check && disk.format === 'qcow2') integrity = await checkIntegrity(opened.source);
      if (values.check && disk.format === 'vmdk') integrity = await checkVmdkIntegrity(disk);
      if (values.check && (disk.format === 'vhd' || disk.format === 'vhdx')) integrity = checkVhdIntegrity(disk);
    } catch (e) {
      // A backing file that is missing or refused still leaves the header to show, as
      // qemu-img info shows it; the failure is reported and the exit code says so.
      if (!(e instanceof DiskProbeError)) throw e;
      openError = e;
    }
  } else if (values.snapshot !== undefined) {
    throw new UsageError(`--snapshot needs an image diskprobe reads; this is ${probed.format}`);
  }
  try {
    const findings: readonly Finding[] = [
      ...(disk?.findings ?? []),
      ...(openError ? [{ severity: 'error' as const, code: (openError as DiskProbeError).code, message: `cannot open the image: ${openError.message}` }] : []),
    ];
    const result = {
      path,
      format: probed.format,
      subformat: probed.subformat,
      virtualSize: disk?.size ?? probed.virtualSize,
      fileSize: probed.fileSize,
      problem: probed.problem,
      facts: disk?.facts ?? probed.facts ?? {},
      backingChain: disk ? chainOf(disk) : [],
      findings,
      integrity,
    };
    if (values.json) io.out(toJson(result) + '\n');
    else io.out(text(result));
    if (openError) return EXIT.USAGE;
    const bad = probed.problem !== undefined || findings.some((f) => f.severity === 'error') || (integrity !== undefined && (integrity.format === 'qcow2' ? integrity.corruptions + integrity.leaks + integrity.checkErrors > 0 : integrity.errors > 0));
    return bad ? EXIT.PROBLEM : EXIT.OK;
  } finally {
    await close();
  }
}

/** `8 MiB (8388608 bytes)`, or humanSize's own exact form when the size is not round. */
function withBytes(n: number): string {
  const human = humanSize(n);
  return human.endsWith(' B') || human.includes(' B (') ? human : `${human} (${n} bytes)`;
}

function text(r: {
  path: string;
  format: string;
  subformat: string | undefined;
  virtualSize: number | undefined;
  fileSize: number;
  problem: string | undefined;
  facts: Record<string, unknown>;
  backingChain: ChainLink[];
  findings: readonly Finding[];
  integrity: IntegrityReport | VmdkIntegrityReport | AllocationReport | undefined;
}): string {
  const lines = [
    `image: ${r.path}`,
    `file format: ${r.format}${r.subformat ? ` (${r.subformat})` : ''}`,
    `virtual size: ${r.virtualSize === undefined ? 'unknown' : withBytes(r.virtualSize)}`,
    `file size: ${withBytes(r.fileSize)}`,
  ];
  const { snapshots, ...rest } = r.facts as { snapshots?: Record<string, unknown>[] } & Record<string, unknown>;
  const fields = Object.entries(rest).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0));
  if (fields.length) {
    lines.push('format specific information:');
    for (const [k, v] of fields) lines.push(`    ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  if (snapshots?.length) {
    lines.push('snapshot list:', '    ID    TAG                 VM SIZE      DATE                   VM CLOCK          ICOUNT');
    for (const s of snapshots) {
      const date = new Date(Number(s.dateSec) * 1000).toISOString().replace('T', ' ').slice(0, 19);
      const clock = Number(s.vmClockNsec) / 1e9;
      lines.push(`    ${String(s.id).padEnd(5)} ${String(s.name).padEnd(19)} ${humanSize(Number(s.vmStateSize)).padEnd(12)} ${date}    ${clock.toFixed(3).padStart(12)} s  ${s.icount === -1 ? '--' : String(s.icount)}`);
    }
  }
  for (const [i, link] of r.backingChain.entries()) lines.push(`backing file ${i + 1}: ${link.label} (${link.format}, ${humanSize(link.virtualSize)})`);
  for (const f of r.findings) lines.push(`${f.severity}: ${f.message}${f.offset === undefined ? '' : ` (at 0x${f.offset.toString(16)})`}`);
  if (r.problem) lines.push(`problem: ${r.problem}`);
  if (r.integrity?.format === 'vhd' || r.integrity?.format === 'vhdx') {
    const c = r.integrity;
    lines.push(`check: ${c.errors} errors, ${c.warnings} warnings; ${c.allocatedBlocks}/${c.blocks} blocks allocated`);
    for (const f of c.findings) lines.push(`    ${f.severity}: ${f.message}${f.offset === undefined ? '' : ` (at 0x${f.offset.toString(16)})`}`);
  } else if (r.integrity?.format === 'vmdk') {
    const c = r.integrity;
    lines.push(`check: ${c.errors} errors, ${c.warnings} warnings; ${c.extents} sparse extent(s), ${c.allocatedGrains} grains allocated (${c.compressedGrains} compressed), ${c.zeroedGrains} zeroed`);
    for (const f of c.findings) lines.push(`    ${f.severity}: ${f.message}${f.offset === undefined ? '' : ` (at 0x${f.offset.toString(16)})`}`);
  } else if (r.integrity?.format === 'qcow2') {
    const c = r.integrity;
    lines.push(
      `check: ${c.corruptions} corruptions, ${c.leaks} leaked clusters, ${c.checkErrors} check errors`,
      `    ${c.allocatedClusters}/${c.totalClusters} = ${c.totalClusters ? ((c.allocatedClusters / c.totalClusters) * 100).toFixed(2) : '0.00'}% allocated, ${c.fragmentedClusters} fragmented, ${c.compressedClusters} compressed clusters`,
      `    image end offset: ${c.imageEndOffset}`,
    );
    for (const f of c.findings) lines.push(`    ${f.severity}: ${f.message}${f.offset === undefined ? '' : ` (at 0x${f.offset.toString(16)})`}`);
  }
  return lines.join('\n') + '\n';
}
