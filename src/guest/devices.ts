/**
 * Which volume an fstab device names: tags (`UUID=`, `LABEL=`, `PARTUUID=`, `PARTLABEL=`), the
 * udev links in `/dev/disk/by-*`, LVM's `/dev/mapper/vg-lv` and `/dev/vg/lv`, and kernel names
 * by position (`/dev/sda1`, `/dev/vdb2`, `/dev/xvda1`, `/dev/hda1`, `/dev/nvme0n1p1`,
 * `/dev/mmcblk0p1`: the first disk given is `a` or `0`).
 */
import type { Volume, VolumeLayout } from '../volume/types.js';
import type { FstabSpec } from './parse/fstab.js';

/** The volume a spec names, or why none. */
export type SpecMatch = { volume: Volume; note?: string } | { volume?: undefined; reason: string };

/** Decodes udev's `\x2f`-style escapes in /dev/disk/by-label names. */
function udevUnescape(name: string): string {
  return name.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Splits a device-mapper name `vg-lv` (a `-` inside either name is doubled) into its parts. */
export function splitMapperName(name: string): [string, string] | undefined {
  for (let i = 1; i < name.length - 1; i++) {
    if (name[i] !== '-') continue;
    if (name[i + 1] === '-') {
      i++;
      continue;
    }
    return [name.slice(0, i).replace(/--/g, '-'), name.slice(i + 1).replace(/--/g, '-')];
  }
  return undefined;
}

/** Disk letters `a`…`z`, `aa`… as the kernel assigns them, to a 0-based index. */
function letterIndex(letters: string): number {
  let n = 0;
  for (const c of letters) n = n * 26 + (c.charCodeAt(0) - 96);
  return n - 1;
}

/** Which disk (0-based) and partition number (undefined for the whole disk) a volume is. */
function position(v: Volume): { disk: number; part?: number } | undefined {
  const m = /^(?:(\d+):)?(?:p(\d+)|disk)$/.exec(v.id);
  if (!m) return undefined;
  const disk = m[1] ? Number(m[1]) - 1 : 0;
  return m[2] ? { disk, part: Number(m[2]) } : { disk };
}

/** The MBR PARTUUID of a partition: the disk signature and the partition number, `1234abcd-01`. */
function mbrPartUuid(layout: VolumeLayout, v: Volume): string | undefined {
  const p = position(v);
  if (!p?.part) return undefined;
  const table = layout.disks[p.disk]?.table;
  if (table?.scheme !== 'mbr' || !table.id) return undefined;
  return `${table.id.replace(/^0x/i, '').toLowerCase().padStart(8, '0')}-${p.part.toString(16).padStart(2, '0')}`;
}

function pick(found: Volume[], what: string): SpecMatch {
  if (found.length === 0) return { reason: `no volume has ${what}` };
  // A filesystem inside RAID or LVM also shows on its member: prefer the assembled volume.
  const best = found.find((v) => v.scheme === 'lvm' || v.scheme === 'md') ?? found[0]!;
  return found.length > 1 ? { volume: best, note: `${found.length} volumes have ${what}: ${found.map((v) => v.id).join(', ')}; ${best.id} used` } : { volume: best };
}

const lower = (s: string | undefined) => s?.toLowerCase();

/** The volume `spec` names in `layout`. */
export function findVolume(spec: FstabSpec, layout: VolumeLayout): SpecMatch {
  const vols = layout.volumes;
  switch (spec.kind) {
    case 'uuid':
      return pick(
        vols.filter((v) => lower(v.content.uuid) === lower(spec.value) && v.content.usage !== 'raid'),
        `filesystem UUID ${spec.value}`,
      );
    case 'label':
      return pick(
        vols.filter((v) => v.content.label === spec.value && v.content.usage !== 'raid'),
        `label "${spec.value}"`,
      );
    case 'partuuid':
      return pick(
        vols.filter((v) => (v.scheme === 'gpt' && lower(v.uuid) === lower(spec.value)) || (v.scheme === 'mbr' && mbrPartUuid(layout, v) === lower(spec.value))),
        `partition UUID ${spec.value}`,
      );
    case 'partlabel':
      return pick(
        vols.filter((v) => v.scheme === 'gpt' && v.name === spec.value),
        `partition label "${spec.value}"`,
      );
    case 'other':
      return { reason: `"${spec.value}" is not a device path or tag` };
    case 'path':
      return byPath(spec.value, layout);
  }
}

function byPath(path: string, layout: VolumeLayout): SpecMatch {
  const vols = layout.volumes;
  let m = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel)\/(.+)$/.exec(path);
  if (m) return findVolume({ kind: m[1] as 'uuid', value: udevUnescape(m[2]!) }, layout);
  if (/^\/dev\/disk\/by-(id|path|diskseq)\//.test(path)) return { reason: `${path} names hardware (serial number or bus path) that an image does not record` };
  m = /^\/dev\/mapper\/(.+)$/.exec(path);
  if (m) {
    const parts = splitMapperName(m[1]!);
    const lv = parts && vols.find((v) => v.scheme === 'lvm' && v.id === `${parts[0]}/${parts[1]}`);
    return lv ? { volume: lv } : { reason: `no LVM logical volume is named by the device-mapper name "${m[1]}" (an encrypted or multipath mapping is not assembled)` };
  }
  m = /^\/dev\/(?:(?:s|v|xv|h)d([a-z]+)(\d*)|nvme(\d+)n\d+(?:p(\d+))?|mmcblk(\d+)(?:p(\d+))?)$/.exec(path);
  if (m) {
    const disk = m[1] !== undefined ? letterIndex(m[1]) : Number(m[3] ?? m[5]);
    const partText = m[2] || m[4] || m[6];
    const part = partText ? Number(partText) : undefined;
    const found = vols.find((v) => {
      const p = position(v);
      return p !== undefined && p.disk === disk && p.part === part;
    });
    if (found) return { volume: found, note: `${path} is read by position: disk ${disk + 1} as given, ${part === undefined ? 'whole disk' : `partition ${part}`}; the guest's kernel may name disks differently` };
    return { reason: `no ${part === undefined ? 'disk' : `partition ${part} on disk`} ${disk + 1} for ${path}` };
  }
  m = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path);
  if (m) {
    const lv = vols.find((v) => v.scheme === 'lvm' && v.id === `${m![1]}/${m![2]}`);
    if (lv) return { volume: lv };
  }
  if (/^\/dev\/md/.test(path)) {
    const md = vols.filter((v) => v.scheme === 'md');
    if (md.length === 1) return { volume: md[0]!, note: `${path} taken to be the only RAID array, ${md[0]!.id}` };
    return { reason: `${path}: RAID arrays are not matched by name (${md.length} found)` };
  }
  return { reason: `no volume matches ${path}` };
}
