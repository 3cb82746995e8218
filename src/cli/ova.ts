import { openDisk, type Disk } from '../index.js';
import { checkVmdkIntegrity, type VmdkIntegrityReport } from '../container/vmdk/index.js';
import { openOva, openOvaDisk, verifyManifest, type Ova } from '../container/ova/index.js';
import { DiskProbeError } from '../errors.js';
import { nodeCodecs } from '../node/codecs.js';
import { nodeHasher } from '../node/hasher.js';
import { openSource } from '../node/source.js';
import { EXIT, humanSize, toJson, type Io } from './io.js';

/** `diskprobe info` of an OVA: its members, the OVF's systems and disks, and with --check the manifest and each disk's metadata. */
export async function ovaInfo(path: string, options: { json?: boolean; check?: boolean }, io: Io): Promise<number> {
  const source = await openSource(path);
  try {
    const ova = await openOva(source);
    const disks: { diskId: string; file?: string; capacity?: number; format?: string; opened?: { format: string; subformat?: string; size: number; findings: unknown[] }; error?: string; integrity?: VmdkIntegrityReport }[] = [];
    for (const [i, d] of ova.ovf.disks.entries()) {
      const row: (typeof disks)[number] = { diskId: d.diskId };
      const file = ova.ovf.files.find((f) => f.id === d.fileRef);
      if (file) row.file = file.href;
      if (d.capacity !== undefined) row.capacity = d.capacity;
      if (d.format) row.format = d.format;
      try {
        const disk: Disk = await openOvaDisk(ova, i, { codecs: nodeCodecs }, openDisk);
        row.opened = { format: disk.format, size: disk.size, findings: [...(disk.findings ?? [])] };
        if (disk.subformat) row.opened.subformat = disk.subformat;
        if (options.check && disk.format === 'vmdk') row.integrity = await checkVmdkIntegrity(disk);
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        row.error = e.message;
      }
      disks.push(row);
    }
    const manifest = options.check && ova.manifest ? await verifyManifest(ova, nodeHasher) : undefined;
    const result = { path, format: 'ova', members: ova.members, ovf: ova.ovf, disks, manifest, findings: ova.findings };
    io.out(options.json ? `${toJson(result)}\n` : text(ova, result));
    const bad = ova.findings.some((f) => f.severity === 'error') || disks.some((d) => d.error || (d.integrity?.errors ?? 0) > 0) || (manifest?.some((m) => !m.ok) ?? false);
    return bad ? EXIT.PROBLEM : EXIT.OK;
  } finally {
    await source.close?.();
  }
}

function text(ova: Ova, r: { disks: { diskId: string; file?: string; capacity?: number; format?: string; opened?: { format: string; subformat?: string; size: number }; error?: string; integrity?: VmdkIntegrityReport }[]; manifest?: { file: string; algorithm: string; ok: boolean; reason?: string }[] }): string {
  const lines = [`package: ${ova.source.label} (OVA, OVF ${ova.ovf.version ?? '?'}, descriptor ${ova.descriptor.name})`, 'members:'];
  for (const m of ova.members) lines.push(`    ${m.name.padEnd(32)} ${humanSize(m.size).padStart(14)}  at ${m.offset}`);
  for (const s of ova.ovf.systems) {
    lines.push(`virtual system: ${s.name ?? s.id ?? '?'}`);
    if (s.os) lines.push(`    guest OS: ${[s.os.description, s.os.osType && `(${s.os.osType})`, s.os.id && `CIM id ${s.os.id}`].filter(Boolean).join(' ')}`);
    lines.push(`    hardware: ${[s.systemType, s.firmware && `firmware ${s.firmware}`, s.cpus !== undefined && `${s.cpus} CPU`, s.memoryMiB !== undefined && `${s.memoryMiB} MiB`].filter(Boolean).join(', ') || '-'}`);
    for (const c of s.controllers) lines.push(`    controller ${c.instanceId}: ${c.kind}${c.subtype ? ` (${c.subtype})` : ''}`);
    for (const d of s.drives) lines.push(`    drive ${d.instanceId}: ${d.hostResource ?? '-'} on controller ${d.parent ?? '-'}${d.address !== undefined ? `:${d.address}` : ''}`);
    for (const n of s.nics) lines.push(`    network adapter: ${n.name ?? '-'}${n.subtype ? ` (${n.subtype})` : ''}${n.connection ? ` on ${n.connection}` : ''}`);
  }
  for (const d of r.disks) {
    lines.push(`disk ${d.diskId}: ${d.file ?? '-'}, capacity ${humanSize(d.capacity)}${d.opened ? `; ${d.opened.format}${d.opened.subformat ? ` (${d.opened.subformat})` : ''}, ${humanSize(d.opened.size)}` : ''}${d.error ? `; cannot open: ${d.error}` : ''}`);
    if (d.integrity) lines.push(`    check: ${d.integrity.errors} errors, ${d.integrity.warnings} warnings`, ...d.integrity.findings.map((f) => `    ${f.severity}: ${f.message}`));
  }
  if (ova.manifest) lines.push(`manifest: ${ova.manifest.member.name}, ${ova.manifest.entries.length} entries${r.manifest ? '' : ' (not checked; --check verifies it)'}`);
  for (const m of r.manifest ?? []) lines.push(`    ${m.ok ? 'ok      ' : 'MISMATCH'} ${m.algorithm} ${m.file}${m.reason ? ` (${m.reason})` : ''}`);
  for (const f of ova.findings) lines.push(`${f.severity}: ${f.message}`);
  return `${lines.join('\n')}\n`;
}
