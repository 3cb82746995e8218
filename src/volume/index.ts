/**
 * The volume layer: from disks to the volumes their filesystems live on.
 *
 * For each disk: the partition table (GPT when a GPT header is found, else a DOS MBR, else
 * none: the whole disk is one volume), then what each partition holds. Linux md RAID1
 * members add a volume for their data; LVM2 physical volumes, wherever found (a partition, a
 * whole disk, an md member), are gathered across all the disks given and assembled into volume
 * groups whose logical volumes become volumes too. Encrypted volumes, RAID members of other
 * levels and Windows dynamic disks are named, with why they cannot be opened.
 */
import type { Finding } from '../container/types.js';
import { slice } from '../device/slice.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode, throwIfAborted } from '../errors.js';
import { probeContent, CONTENT_HEAD_BYTES } from './content.js';
import { gptSignatureAt, readGpt, SECTOR_SIZES } from './gpt/index.js';
import { GptType } from './gpt/types.js';
import { assembleVolumeGroups, readPhysicalVolume, type PhysicalVolume } from './lvm/index.js';
import { looksLikeMbr, readMbr, type MbrRead } from './mbr/index.js';
import { checkSlots, type PartitionSlot } from './slot.js';
import type { PartitionTable, Volume, VolumeContent, VolumeLayout } from './types.js';

export type { PartitionTable, Volume, VolumeContent, VolumeGroupInfo, VolumeLayout, VolumeScheme } from './types.js';
export { probeContent } from './content.js';
export { parseConfig } from './lvm/config.js';
export type { ConfigSection, ConfigValue } from './lvm/config.js';
export { GPT_TYPE_NAMES, GptType, gptTypeName } from './gpt/types.js';
export { MBR_TYPE_NAMES, mbrTypeName, classifyBootCode } from './mbr/layout.js';

/** Options of {@link readLayout}. */
export interface LayoutOptions {
  signal?: AbortSignal;
}

/** A volume from a device and what is known of it. */
function makeVolume(
  dev: BlockDevice,
  fields: Omit<Volume, 'size' | 'label' | 'read' | 'content' | 'findings' | 'facts'> & { facts?: Record<string, unknown>; findings?: Finding[] },
  content: VolumeContent,
): Volume {
  return {
    size: dev.size,
    label: dev.label,
    read: (offset, length, signal) => dev.read(offset, length, signal),
    ...fields,
    facts: fields.facts ?? {},
    findings: fields.findings ?? [],
    content,
  };
}

/** First bytes of a device, for the table and content probes. */
async function headOf(dev: BlockDevice, signal?: AbortSignal): Promise<Uint8Array> {
  const n = Math.min(CONTENT_HEAD_BYTES, dev.size);
  return n > 0 ? dev.read(0, n, signal) : new Uint8Array(0);
}

/** A partition's device, whose reads cannot pass its end or the disk's. */
function partitionDevice(disk: BlockDevice, slot: PartitionSlot, prefix: string): BlockDevice {
  const start = Math.min(slot.start, disk.size);
  return slice(disk, start, Math.min(slot.size, disk.size - start), `${disk.label}:${prefix}${slot.id}`);
}

/** Why a partition of this type cannot be opened, if the type alone says so. */
function typeProblem(slot: PartitionSlot, scheme: 'mbr' | 'gpt'): string | undefined {
  if (slot.container) return 'an extended partition: it holds the logical partitions, not data of its own';
  if ((scheme === 'mbr' && slot.type === '0x42') || (scheme === 'gpt' && (slot.type === GptType.LDM_DATA || slot.type === GptType.LDM_METADATA))) {
    return 'part of a Windows dynamic disk (LDM): its volumes are described by the LDM database, which diskprobe does not read';
  }
  return undefined;
}

/**
 * Reads the partition tables, RAID members and LVM volume groups of one or more disks. Several
 * disks are read together when a volume group spans them; volume ids are then prefixed with
 * the disk's position (`1:p1`, `2:p1`). Damaged tables give findings; only a failing read
 * (or an abort) throws.
 */
export async function readLayout(disks: BlockDevice | readonly BlockDevice[], options: LayoutOptions = {}): Promise<VolumeLayout> {
  const list = Array.isArray(disks) ? (disks as readonly BlockDevice[]) : [disks as BlockDevice];
  const { signal } = options;
  const layout: VolumeLayout = { disks: [], volumes: [], volumeGroups: [], findings: [] };
  const heads = new Map<Volume, Uint8Array>();
  for (const [i, disk] of list.entries()) {
    throwIfAborted(signal, { layer: 'volume', device: disk.label });
    const prefix = list.length > 1 ? `${i + 1}:` : '';
    const head = await headOf(disk, signal);
    const findings: Finding[] = [];
    let mbr: MbrRead | undefined;
    const mbrCheck = looksLikeMbr(head);
    if (mbrCheck.ok) mbr = await readMbr(disk, head, 512, signal);
    // As Linux does: a valid MBR that is not protective wins over any GPT signature.
    const gptAllowed = !mbr || mbr.protective;
    const gpt = gptAllowed ? await readGpt(disk, head, mbr, signal) : undefined;
    if (!gptAllowed && SECTOR_SIZES.some((ss) => gptSignatureAt(head, ss))) {
      findings.push({ severity: 'warning', code: 'gpt.ignored', message: 'a GPT header is present, but the MBR is not protective (no 0xEE record): the MBR is used, as Linux and Windows would; one of the two tables is stale' });
    }
    let table: PartitionTable;
    let slots: PartitionSlot[] = [];
    if (gpt) {
      table = { scheme: 'gpt', sectorSize: gpt.sectorSize, id: gpt.id, facts: { ...gpt.facts, ...(mbr ? { mbr: mbr.facts } : {}) } };
      slots = gpt.partitions;
      findings.push(...gpt.findings);
    } else if (mbr) {
      table = { scheme: 'mbr', sectorSize: 512, id: mbr.id, facts: mbr.facts };
      slots = mbr.partitions;
      findings.push(...mbr.findings);
      if (mbr.protective) {
        findings.push({ severity: 'error', code: 'gpt.missing', message: 'the MBR is a GPT protective MBR (0xEE record), but no GPT header was found at LBA 1 or at the end of the disk', offset: 446 });
      }
    } else {
      table = { scheme: 'none', sectorSize: 512, facts: { why: mbrCheck.reason } };
    }
    checkSlots(slots, disk.size, table.scheme, findings);
    const diskContent = table.scheme === 'none' || slots.length === 0 ? await probeContent(disk, head, signal) : { type: 'partitioned', facts: { scheme: table.scheme } };
    if (table.scheme !== 'none' && slots.some((s) => (table.scheme === 'mbr' ? s.type === '0x42' : s.type === GptType.LDM_METADATA))) {
      findings.push({ severity: 'warning', code: 'volume.dynamic-disk', message: 'a Windows dynamic disk (LDM): its volumes are not read; convert it to a basic disk before import' });
    }
    layout.disks.push({ label: disk.label, size: disk.size, table, content: diskContent });
    layout.findings.push(...findings);
    if (slots.length === 0) {
      const v = makeVolume(disk, { id: `${prefix}disk`, scheme: 'none', start: 0, parent: disk.label, type: 'none', typeName: 'whole disk', problem: diskContent.problem }, diskContent);
      layout.volumes.push(v);
      heads.set(v, head);
      continue;
    }
    for (const slot of slots) {
      const dev = partitionDevice(disk, slot, prefix);
      const scheme = table.scheme as 'mbr' | 'gpt';
      const problem = typeProblem(slot, scheme);
      const partHead = slot.container || dev.size === 0 ? new Uint8Array(0) : await headOf(dev, signal);
      const content: VolumeContent = slot.container ? { type: 'unknown', facts: { holds: 'logical partitions' } } : await probeContent(dev, partHead, signal);
      const v = makeVolume(
        dev,
        {
          id: `${prefix}${slot.id}`,
          scheme,
          index: slot.index,
          start: slot.start,
          parent: disk.label,
          type: slot.type,
          typeName: slot.typeName,
          name: slot.name,
          uuid: slot.uuid,
          facts: slot.facts,
          findings: slot.findings,
          problem: problem ?? content.problem,
        },
        content,
      );
      layout.volumes.push(v);
      heads.set(v, partHead);
    }
  }

  // md RAID1: each array's data, read from its first member found (every member holds a copy).
  const arrays = new Map<string, Volume[]>();
  for (const v of layout.volumes) {
    if (v.content.type === 'linux_raid_member' && v.content.facts?.level === 'raid1') arrays.set(v.content.uuid ?? v.id, [...(arrays.get(v.content.uuid ?? v.id) ?? []), v]);
  }
  for (const members of arrays.values()) {
    const v = members[0]!;
    const c = v.content;
    const dataOffset = c.facts?.dataOffset;
    const dataSize = c.facts?.dataSize;
    if (typeof dataOffset !== 'number' || typeof dataSize !== 'number' || dataOffset + dataSize > v.size) {
      layout.findings.push({ severity: 'warning', code: 'md.bad-extent', message: `the md superblock on ${v.id} places its data outside the volume` });
      continue;
    }
    const dev = slice(v, dataOffset, dataSize, `${v.label}:md`);
    const head = await headOf(dev, signal);
    const content = await probeContent(dev, head, signal);
    const md = makeVolume(
      dev,
      {
        id: `${v.id}.md`,
        scheme: 'md',
        start: dataOffset,
        parent: v.label,
        type: 'raid1',
        typeName: 'md RAID1 array data',
        name: c.label,
        uuid: c.uuid,
        facts: { array: c.uuid, version: c.version, members: members.map((m) => m.id), readFrom: v.id, raidDisks: c.facts?.raidDisks },
        problem: content.problem,
      },
      content,
    );
    layout.volumes.push(md);
    heads.set(md, head);
  }

  // LVM: every PV found, wherever it is, then the groups they make.
  const pvs: PhysicalVolume[] = [];
  for (const v of layout.volumes) {
    if (v.content.type !== 'LVM2_member') continue;
    const pv = await readPhysicalVolume(v, heads.get(v) ?? (await headOf(v, signal)), signal);
    if (!pv) continue;
    pvs.push(pv);
    (v.findings as Finding[]).push(...pv.findings);
    layout.findings.push(...pv.findings);
  }
  if (pvs.length > 0) {
    const assembly = assembleVolumeGroups(pvs);
    layout.volumeGroups = assembly.groups;
    layout.findings.push(...assembly.findings);
    // Two VGs of one name (disks of cloned machines): tell their LVs apart by the VG UUID.
    const names = assembly.groups.map((g) => g.name);
    const clash = new Set(names.filter((n, i) => names.indexOf(n) !== i));
    for (const lv of assembly.lvs) {
      const vgId = clash.has(lv.vg) ? `${lv.vg}[${lv.vgUuid}]` : lv.vg;
      let content: VolumeContent;
      try {
        content = lv.problem === undefined ? await probeContent(lv.device, undefined, signal) : { type: 'unknown' };
      } catch (e) {
        if (!(e instanceof DiskProbeError) || e.code === ErrorCode.ABORTED) throw e;
        content = { type: 'unknown', problem: e.message };
      }
      layout.volumes.push(
        makeVolume(
          lv.device,
          { id: `${vgId}/${lv.name}`, scheme: 'lvm', parent: lv.vg, type: lv.segmentTypes.join('+') || 'empty', typeName: 'LVM logical volume', name: lv.name, uuid: lv.uuid, facts: lv.facts, problem: lv.problem ?? content.problem },
          content,
        ),
      );
    }
  }
  return layout;
}

/** The volumes of one or more disks: partitions (or whole disks), RAID1 member data, LVM logical volumes. */
export async function listVolumes(disks: BlockDevice | readonly BlockDevice[], options: LayoutOptions = {}): Promise<Volume[]> {
  return (await readLayout(disks, options)).volumes;
}
