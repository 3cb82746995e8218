import { parseArgs } from 'node:util';
import type { Finding } from '../index.js';
import { openImage, type OpenedImage } from '../node/image.js';
import { readLayout, type Volume, type VolumeLayout } from '../volume/index.js';
import { EXIT, humanSize, toJson, UsageError, type Io } from './io.js';

export const VOLUMES_HELP = `Usage: diskprobe volumes [--json] <path|url>...

Lists what is between each disk and its filesystems, like sfdisk -l, lvs and blkid together:
the partition table (MBR with its logical partitions, or GPT, with the sector size found and
the backup header checked), each partition's type, name and UUID, and what it holds (the
filesystem or container with its UUID and label); Linux md RAID1 arrays; LVM2 volume groups and
their logical volumes. Give every disk of a volume group that spans several images together.
Encrypted volumes, RAID members of other levels, Windows dynamic disks and the LVM volumes
diskprobe does not read (thin, RAID, snapshots, …) are named with the reason.

Options:
  --json       print one JSON object
  -h, --help   show this help

Exit codes: 0 fine; 1 a table or volume group has an error finding; 2 usage error, or an
image could not be read.
`;

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [row(header, widths), ...rows.map((r) => row(r, widths))].join('\n') + '\n';
}

function contentText(v: Volume): string {
  const c = v.content;
  return [c.type, c.version].filter(Boolean).join(' ');
}

function volumeJson(v: Volume): Record<string, unknown> {
  return {
    id: v.id,
    scheme: v.scheme,
    index: v.index,
    start: v.start,
    size: v.size,
    parent: v.parent,
    type: v.type,
    typeName: v.typeName,
    name: v.name,
    uuid: v.uuid,
    content: v.content,
    problem: v.problem,
    facts: v.facts,
    findings: v.findings,
  };
}

function text(paths: string[], layout: VolumeLayout): string {
  let out = '';
  for (const [i, d] of layout.disks.entries()) {
    const t = d.table;
    const boot = typeof t.facts.bootCode === 'string' ? t.facts.bootCode : typeof (t.facts.mbr as { bootCode?: string } | undefined)?.bootCode === 'string' ? (t.facts.mbr as { bootCode: string }).bootCode : undefined;
    out += `${paths[i]}: ${t.scheme === 'none' ? 'no partition table' : t.scheme === 'mbr' ? `MBR (disk signature ${t.id})` : `GPT (disk GUID ${t.id})`}, ${humanSize(d.size)}, ${t.sectorSize}-byte sectors${boot ? `, boot code: ${boot}` : ''}\n`;
  }
  out += '\n';
  const parts = layout.volumes.filter((v) => v.scheme !== 'lvm');
  out += table(
    ['ID', 'START', 'SIZE', 'TYPE', 'NAME', 'CONTENT', 'UUID', 'LABEL'],
    parts.map((v) => [v.id, v.start === undefined ? '-' : String(v.start), humanSize(v.size), v.typeName === 'unknown' ? v.type : v.typeName, v.name ?? '', contentText(v), v.content.uuid ?? '', v.content.label ?? '']),
  );
  for (const g of layout.volumeGroups) {
    const found = g.pvs.filter((p) => p.found).length;
    out += `\nVolume group ${g.name} (${g.uuid}): seqno ${g.seqno}, extent ${humanSize(g.extentSize)}, ${g.pvs.length} PV${g.pvs.length === 1 ? '' : 's'} (${found} found: ${g.pvs.map((p) => `${p.name}=${p.device ?? 'missing'}`).join(', ')})\n`;
    const lvs = layout.volumes.filter((v) => v.scheme === 'lvm' && v.parent === g.name);
    out += table(
      ['LV', 'SIZE', 'SEGMENTS', 'CONTENT', 'UUID', 'LABEL'],
      lvs.map((v) => [v.id, humanSize(v.size), v.type, contentText(v), v.content.uuid ?? '', v.content.label ?? '']),
    );
  }
  const problems = layout.volumes.filter((v) => v.problem !== undefined);
  if (problems.length > 0) out += `\n${problems.map((v) => `${v.id}: ${v.problem}`).join('\n')}\n`;
  if (layout.findings.length > 0) out += `\n${layout.findings.map((f: Finding) => `${f.severity}: ${f.code}: ${f.message}`).join('\n')}\n`;
  return out;
}

export async function volumesCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length === 0) throw new UsageError('expected at least one image');
  const opened: OpenedImage[] = [];
  try {
    for (const path of positionals) opened.push(await openImage(path));
    const layout = await readLayout(opened.map((o) => o.disk));
    if (values.json) {
      io.out(
        toJson({
          disks: layout.disks.map((d, i) => ({ path: positionals[i], ...d })),
          volumes: layout.volumes.map(volumeJson),
          volumeGroups: layout.volumeGroups,
          findings: layout.findings,
        }) + '\n',
      );
    } else io.out(text(positionals, layout));
    return layout.findings.some((f) => f.severity === 'error') ? EXIT.PROBLEM : EXIT.OK;
  } finally {
    for (const o of opened) await o.close();
  }
}
