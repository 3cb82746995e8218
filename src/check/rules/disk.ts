/**
 * Disk-level items (CHECKS.md "Image-level items", disk.*; vendor-checks.md B1–B11, C1–C5):
 * partition table, boot mode, filesystems, their state and free space, and where the root lives.
 */
import { DiskProbeError } from '../../errors.js';
import { openFileSystem } from '../../fs/index.js';
import { GptType } from '../../volume/gpt/types.js';
import type { Volume } from '../../volume/types.js';
import { guestFile, mountedStats, type CheckContext } from '../context.js';
import { error, gib, MiB, noLayout, notMet, ok, skipped, type Rule } from '../rule.js';
import type { CheckEvidence, Outcome, Severity } from '../types.js';

/** Boot code kinds `classifyBootCode` names that start something. */
const BIOS_CODE = new Set(['grub2', 'grub-legacy', 'windows', 'syslinux', 'lilo', 'unknown']);

export interface BootMode {
  mode: 'bios' | 'uefi' | 'both' | 'none';
  bios: boolean;
  uefi: boolean;
  esp?: Volume;
  evidence: CheckEvidence[];
}

/** BIOS boot code in the MBR (and a BIOS boot partition on GPT), and an EFI system partition. */
export function bootMode(ctx: CheckContext): BootMode | undefined {
  const disk = ctx.layout?.disks[0];
  if (!disk) return undefined;
  const t = disk.table;
  const evidence: CheckEvidence[] = [];
  const mbr = (t.scheme === 'gpt' ? t.facts.mbr : t.scheme === 'mbr' ? t.facts : undefined) as { bootCode?: string; bootCodeEvidence?: string } | undefined;
  let bios = false;
  if (mbr?.bootCode) {
    evidence.push({ source: t.scheme === 'gpt' ? 'protective MBR' : 'MBR', offset: 0, value: `boot code: ${mbr.bootCode} (${mbr.bootCodeEvidence ?? ''})` });
    bios = BIOS_CODE.has(mbr.bootCode);
  }
  const parts = ctx.layout!.volumes.filter((v) => v.parent === disk.label || v.scheme === t.scheme);
  if (t.scheme === 'gpt' && bios) {
    const biosBoot = parts.find((v) => v.type === GptType.BIOS_BOOT);
    if (biosBoot) evidence.push({ source: biosBoot.id, value: 'BIOS boot partition (GRUB core image)' });
    else if (mbr?.bootCode === 'grub2') {
      evidence.push({ source: 'GPT', value: 'no BIOS boot partition: GRUB 2 has nowhere to keep its core image on GPT' });
      bios = false;
    }
  }
  const esp = parts.find((v) => v.type === GptType.EFI_SYSTEM || v.type === '0xef');
  if (esp) evidence.push({ source: esp.id, value: `EFI system partition (${esp.content.type})` });
  else evidence.push({ source: t.scheme === 'none' ? 'disk' : `${t.scheme.toUpperCase()} partition table`, value: 'no EFI system partition', absent: true });
  const uefi = !!esp;
  const mode = bios && uefi ? 'both' : bios ? 'bios' : uefi ? 'uefi' : 'none';
  const out: BootMode = { mode, bios, uefi, evidence };
  if (esp) out.esp = esp;
  return out;
}

export const diskPartitionTable: Rule = {
  id: 'disk.partition-table',
  title: 'partition table',
  scope: 'disk',
  severity: 'FAILED',
  names: { alibaba: 'partition table', didi: 'PARTITION_TYPE', jdcloud: '分区', ecs: 'GUESTOS.PartitionTable' },
  async run(ctx, profile, bad) {
    const disk = ctx.layout?.disks[0];
    if (!disk) return noLayout(ctx);
    const t = disk.table;
    const facts = t.facts as { protective?: boolean; hybrid?: boolean; headerUsed?: string; mbr?: { hybrid?: boolean } };
    const evidence: CheckEvidence[] = [t.scheme === 'gpt' ? { source: 'GPT header', offset: t.sectorSize, value: `"EFI PART", disk GUID ${t.id ?? '?'}, ${facts.headerUsed ?? 'primary'} header used` } : t.scheme === 'mbr' ? { source: 'MBR', offset: 510, value: `signature 55 AA, disk signature ${t.id ?? '?'}` } : { source: 'disk', value: `no partition table (${disk.content.type})` }];
    if (t.scheme === 'gpt' && facts.mbr?.hybrid) evidence.push({ source: 'MBR', offset: 446, value: 'hybrid MBR beside the GPT' });
    if (t.scheme === 'none') {
      if (profile.partitionTables.includes('mbr') && disk.content.usage === 'filesystem') return notMet(bad, `the disk has no partition table: a ${disk.content.type} filesystem starts at byte 0`, evidence, 'Partition the disk (MBR) and put the filesystem in a partition, with a boot loader.');
      return notMet(bad, 'the disk has no partition table', evidence, 'Use a disk with an MBR partition table and a boot loader.');
    }
    const accepted = profile.partitionTables;
    if (t.scheme === 'mbr') {
      if (accepted.includes('mbr')) return ok('MBR', evidence, 'MBR');
      return notMet(bad, 'MBR, which this cloud does not take', evidence, 'Use GPT.', 'MBR');
    }
    if (accepted.includes('gpt')) return ok('GPT', evidence, 'GPT');
    if (accepted.includes('gpt-uefi')) {
      const b = bootMode(ctx);
      if (b?.uefi) return ok('GPT, with an EFI system partition for UEFI boot', [...evidence, ...b.evidence.filter((e) => e.source === b.esp?.id)], 'GPT');
      return notMet(bad, 'GPT without an EFI system partition: this cloud boots GPT disks by UEFI only', [...evidence, ...(b?.evidence ?? [])], 'Add an EFI system partition with a UEFI boot loader, or convert the table to MBR (gdisk r, g).', 'GPT');
    }
    return notMet(bad, 'GPT, which this cloud does not take for a system disk', evidence, 'Convert the partition table to MBR (for example with gdisk: r, g), keeping the disk under 2 TiB and at most four primary partitions.', 'GPT');
  },
};

export const diskBootMode: Rule = {
  id: 'disk.boot-mode',
  title: 'boot mode',
  scope: 'disk',
  severity: 'FAILED',
  names: { ecs: 'GUESTOS.BootMode', jdcloud: '启动方式', alibaba: 'boot mode', didi: 'BOOT_MODE' },
  async run(ctx, profile, bad) {
    const b = bootMode(ctx);
    if (!b) return noLayout(ctx);
    if (b.mode === 'none') return notMet(bad, 'no boot loader: the MBR has no boot code and there is no EFI system partition', b.evidence, 'Install a boot loader (grub-install for BIOS, or GRUB/shim in an EFI system partition for UEFI).', 'none');
    const label = { bios: 'BIOS', uefi: 'UEFI', both: 'BIOS and UEFI' }[b.mode];
    const works = (b.bios && profile.bootModes.includes('bios')) || (b.uefi && profile.bootModes.includes('uefi'));
    if (!works) return notMet(bad, `the disk boots by ${label} only, which this cloud does not start`, b.evidence, profile.bootModes.includes('bios') ? 'Install GRUB for BIOS boot (grub-install --target=i386-pc) on an MBR disk.' : 'Add a UEFI boot loader in an EFI system partition.', b.mode);
    return ok(`boots by ${label}`, b.evidence, b.mode);
  },
};

/** Filesystems the guest mounts (or, with no guest, every filesystem volume), with their volumes. */
function guestFilesystems(ctx: CheckContext): { mountpoint?: string; volume: Volume }[] {
  const volumes = ctx.layout?.volumes ?? [];
  if (ctx.guest) {
    const byId = new Map(volumes.map((v) => [v.id, v]));
    const out: { mountpoint?: string; volume: Volume }[] = [];
    const seen = new Set<string>();
    const root = byId.get(ctx.guest.root);
    if (root) {
      out.push({ mountpoint: '/', volume: root });
      seen.add(root.id);
    }
    for (const m of ctx.guest.mounts) {
      const v = m.volume ? byId.get(m.volume) : undefined;
      if (!v || seen.has(v.id) || m.status === 'skipped') continue;
      seen.add(v.id);
      out.push({ mountpoint: m.mountpoint, volume: v });
    }
    return out;
  }
  return volumes.filter((v) => v.content.usage === 'filesystem').map((volume) => ({ volume }));
}

const isEsp = (v: Volume) => v.type === GptType.EFI_SYSTEM || v.type === '0xef';

export const diskFilesystem: Rule = {
  id: 'disk.filesystem',
  title: 'filesystem',
  scope: 'disk',
  severity: 'FAILED',
  names: { alibaba: 'filesystem', didi: 'FILE_SYSTEM', jdcloud: '文件系统', ecs: 'GUESTOS.FileSystem' },
  async run(ctx, profile, bad) {
    if (!ctx.layout) return noLayout(ctx);
    if (!ctx.guest && ctx.windows) {
      // Windows boots from NTFS (its ESP is FAT, which every cloud's firmware reads).
      const w = ctx.windows;
      const v = ctx.layout.volumes.find((x) => x.id === w.root);
      const ev: CheckEvidence[] = [{ source: w.root, value: `${v?.content.type ?? w.fs.type}: Windows (${w.systemRoot})` }];
      for (const b of w.boot.bootmgr) if (b.volume !== w.root) ev.push({ source: b.volume, value: `${ctx.layout.volumes.find((x) => x.id === b.volume)?.content.type ?? '?'}: system partition` });
      return ok(`C: (${w.root}) is NTFS`, ev);
    }
    const list = guestFilesystems(ctx);
    if (!list.length) return error('no filesystem found to check');
    const stats = await mountedStats(ctx);
    const evidence: CheckEvidence[] = [];
    let verdict: Outcome['verdict'] = 'OK';
    const problems: string[] = [];
    for (const { mountpoint, volume } of list) {
      const type = volume.content.type;
      const where = mountpoint ? `${mountpoint} (${volume.id})` : volume.id;
      if (isEsp(volume)) {
        evidence.push({ source: volume.id, value: `${type}: EFI system partition${mountpoint ? ` at ${mountpoint}` : ''}` });
        continue;
      }
      const features = stats.find((s) => s.volume === volume.id)?.stats?.features ?? [];
      evidence.push({ source: volume.id, ...(volume.content.offset !== undefined ? { offset: volume.content.offset } : {}), value: `${type}${mountpoint ? ` at ${mountpoint}` : ''}${features.length ? `; features: ${features.join(' ')}` : ''}` });
      if (!profile.filesystems.includes(type)) {
        verdict = bad;
        problems.push(`${where} is ${type}, not one of ${profile.filesystems.join(', ')}`);
        continue;
      }
      const forbidden = features.filter((f) => profile.forbiddenFeatures.includes(f));
      if (forbidden.length) {
        const sev: Severity = profile.severity['disk.filesystem.features'] ?? bad;
        if (verdict !== 'FAILED') verdict = sev;
        problems.push(`${where} (${type}) has the feature(s) ${forbidden.join(', ')}, which this cloud does not support`);
      }
    }
    if (verdict === 'OK') return ok(list.map((l) => `${l.mountpoint ?? l.volume.id}: ${l.volume.content.type}`).join(', '), evidence);
    return notMet(verdict as Severity, problems.join('; '), evidence, `Use ${profile.filesystems.join(', ')}${profile.forbiddenFeatures.length ? ` without ${profile.forbiddenFeatures.join(', ')}` : ''} for the system's filesystems (recreate with mkfs and copy the files, or convert with tune2fs where the feature can be removed, e.g. resize2fs -s for 64bit).`);
  },
};

export const diskFsClean: Rule = {
  id: 'disk.fs-clean',
  title: 'filesystems clean',
  scope: 'disk',
  severity: 'FAILED',
  names: { jdcloud: '确保文件系统完整', alibaba: 'filesystem state', ecs: 'GUESTOS.FileSystemState', didi: 'FS_STATE' },
  async run(ctx, _profile, bad) {
    if (!ctx.guest && !ctx.windows) return ctx.layout ? skipped('no guest filesystems mounted') : noLayout(ctx);
    const stats = await mountedStats(ctx);
    const evidence: CheckEvidence[] = [];
    let verdict: 'OK' | 'WARNING' | 'FAILED' | 'ERROR' = 'OK';
    const problems: string[] = [];
    for (const s of stats) {
      if (!s.stats) {
        evidence.push({ source: s.volume, value: `${s.type} at ${s.path}: ${s.error}` });
        verdict = verdict === 'FAILED' ? verdict : 'ERROR';
        problems.push(`${s.path} (${s.volume}) could not be read: ${s.error}`);
        continue;
      }
      const st = s.stats.state;
      const flags = [st.clean ? 'clean' : 'not clean', st.errors && 'errors recorded', st.orphans && 'orphan inodes', st.needsRecovery && 'journal needs recovery'].filter(Boolean).join(', ');
      evidence.push({ source: s.volume, value: `${s.type} at ${s.path}: ${flags}` });
      for (const f of s.findings) if (f.severity !== 'info') evidence.push({ source: s.volume, ...(f.offset !== undefined ? { offset: f.offset } : {}), value: f.message });
      if (st.errors || s.findings.some((f) => f.severity === 'error')) {
        verdict = 'FAILED';
        problems.push(`${s.path} (${s.volume}) has recorded errors or corrupt structures`);
      } else if (!st.clean || st.needsRecovery || st.orphans) {
        if (verdict === 'OK') verdict = 'WARNING';
        problems.push(`${s.path} (${s.volume}) was not cleanly unmounted`);
      }
    }
    for (const m of (ctx.guest?.mounts ?? []).filter((m) => m.status === 'unsupported' || m.status === 'failed')) evidence.push({ source: m.volume ?? m.device, value: `${m.mountpoint}: ${m.status}${m.reason ? ` (${m.reason})` : ''}; not checked` });
    if (verdict === 'OK') return ok(`${stats.length} filesystem(s) cleanly unmounted`, evidence);
    if (verdict === 'ERROR') return error(problems.join('; '), evidence);
    const windows = !ctx.guest && ctx.windows;
    return notMet(verdict === 'FAILED' ? bad : 'WARNING', problems.join('; '), evidence, windows ? (verdict === 'FAILED' ? 'Run chkdsk /f on the volume in the source machine, shut it down cleanly, and export again.' : 'Shut the source machine down cleanly (no hibernation, no Fast Startup) before exporting.') : verdict === 'FAILED' ? 'Run fsck (e2fsck -f, xfs_repair) on the filesystems before exporting the image.' : 'Shut the machine down cleanly before exporting the image, or run fsck on the filesystems.');
  },
};

/** Mount points whose space the usage items check (AWS: /, /boot, /usr, /var, /tmp, /etc). */
const USAGE_MOUNTS = new Set(['/', '/boot', '/usr', '/var', '/tmp', '/etc', 'C:']);
/** The root needs this much free space for agents and drivers to install. */
const ROOT_MIN_FREE = 256 * MiB;

function usageRule(kind: 'space' | 'inodes'): Rule {
  return {
    id: kind === 'space' ? 'disk.usage' : 'disk.inode-usage',
    title: kind === 'space' ? 'disk use rate' : 'inode use rate',
    scope: 'disk',
    severity: 'FAILED',
    names: kind === 'space' ? { alibaba: 'disk use rate', jdcloud: '确保系统盘有剩余空间', ecs: 'GUESTOS.DiskUsage', didi: 'DISK_USAGE' } : { alibaba: 'inode use rate', jdcloud: 'iNode', ecs: 'GUESTOS.InodeUsage', didi: 'INODE_USAGE' },
    async run(ctx, _profile, bad) {
      if (!ctx.guest && !ctx.windows) return ctx.layout ? skipped('no guest filesystems mounted') : noLayout(ctx);
      const stats = (await mountedStats(ctx)).filter((s) => USAGE_MOUNTS.has(s.path));
      if (!stats.length) return error('no system filesystem is mounted');
      const evidence: CheckEvidence[] = [];
      let verdict: 'OK' | 'WARNING' | 'FAILED' = 'OK';
      const problems: string[] = [];
      let readable = 0;
      let rootPct: number | undefined;
      for (const s of stats) {
        if (!s.stats) {
          evidence.push({ source: s.volume, value: `${s.path}: ${s.error}` });
          continue;
        }
        readable++;
        const st = s.stats;
        let pct: number;
        let line: string;
        if (kind === 'space') {
          const used = st.blocks - st.freeBlocks;
          const avail = Math.max(0, st.freeBlocks - st.reservedBlocks);
          pct = used + avail > 0 ? Math.ceil((used * 100) / (used + avail)) : 100;
          const availBytes = avail * st.blockSize;
          line = `${s.path}: ${pct}% used, ${gib(availBytes)} available of ${gib(st.blocks * st.blockSize)} (${st.freeBlocks} free blocks, ${st.reservedBlocks} reserved, block size ${st.blockSize})`;
          if ((s.path === '/' || s.path === 'C:') && availBytes < ROOT_MIN_FREE) {
            verdict = 'FAILED';
            problems.push(`${s.path} has only ${gib(availBytes)} available (at least ${gib(ROOT_MIN_FREE)} is needed)`);
          }
        } else {
          const used = st.inodes - st.freeInodes;
          pct = st.inodes > 0 ? Math.ceil((used * 100) / st.inodes) : 100;
          line = `${s.path}: ${pct}% of inodes used (${st.freeInodes} free of ${st.inodes})`;
        }
        if (s.path === '/' || s.path === 'C:') rootPct = pct;
        evidence.push({ source: s.volume, value: line });
        if (pct >= 99) {
          verdict = 'FAILED';
          problems.push(`${s.path} is ${pct}% full`);
        } else if (pct >= 90) {
          if (verdict === 'OK') verdict = 'WARNING';
          problems.push(`${s.path} is ${pct}% full`);
        }
      }
      if (!readable) return error('no system filesystem could be read', evidence);
      if (verdict === 'OK') return ok(`use rate below 90% on ${stats.map((s) => s.path).join(', ')}`, evidence, rootPct);
      return notMet(verdict === 'FAILED' ? bad : 'WARNING', problems.join('; '), evidence, kind === 'space' ? 'Free space on the system disk (remove logs, caches, old kernels) or grow the disk before exporting.' : 'Delete unneeded small files (caches, sessions, mail spools) or recreate the filesystem with more inodes.', rootPct);
    },
  };
}

export const diskUsage = usageRule('space');
export const diskInodeUsage = usageRule('inodes');

/** The root's volume chain: a partition, or a logical volume and the physical volumes it needs. */
export const diskRootDisk: Rule = {
  id: 'disk.root-disk',
  title: 'root on the system disk',
  scope: 'linux',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const root = ctx.layout?.volumes.find((v) => v.id === g.root);
    if (!root) return error(`the root volume ${g.root} is not in the layout`);
    if (root.scheme !== 'lvm') return ok(`the root is partition ${root.id} of the system disk`, [{ source: root.id, value: `${root.typeName} partition` }]);
    const vg = ctx.layout!.volumeGroups.find((x) => x.name === String(root.facts.vg));
    if (!vg) return error(`the volume group of ${root.id} is not in the layout`);
    const ev: CheckEvidence[] = vg.pvs.map((pv) => ({ source: `LVM VG ${vg.name}`, offset: vg.metadataFrom.offset, value: `${pv.name} ${pv.uuid}: ${pv.found ? `on ${pv.device}` : 'not in this image'}` }));
    const missing = vg.pvs.filter((pv) => !pv.found);
    if (missing.length) return notMet(bad, `the root logical volume ${root.id} spans physical volumes that are not in this image (${missing.map((p) => p.name).join(', ')})`, ev, 'Move the root volume group onto the system disk (pvmove, vgreduce) before exporting.');
    return ok(`the root logical volume ${root.id} is on physical volume(s) in this image`, ev);
  },
};

export const diskSingleOs: Rule = {
  id: 'disk.single-os',
  title: 'one operating system',
  scope: 'disk',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    if (!ctx.inspection) return noLayout(ctx);
    const guests = ctx.inspection.guests;
    if (!guests.length) return error('no operating system was found on the disk');
    const ev = guests.map((g) => ({ source: g.root, value: g.os === 'windows' ? `${g.identity.product ?? 'Windows'} (${g.systemRoot})` : `${g.identity.product ?? g.identity.distro}${g.identity.source ? ` (${g.identity.source})` : ''}` }));
    if (guests.length > 1) return notMet(bad, `${guests.length} operating system roots: ${ev.map((e) => `${e.source} ${e.value}`).join(', ')}`, ev, 'Export a disk with one operating system; remove the other root or move it to a data disk.');
    return ok('one operating system root', ev);
  },
};

export const diskSwap: Rule = {
  id: 'disk.swap',
  title: 'no swap on the system disk',
  scope: 'linux',
  severity: 'WARNING',
  names: {},
  async run(ctx, _profile, bad) {
    const g = ctx.guest!;
    const swaps = g.fstab.filter((e) => e.type === 'swap');
    const vols = (ctx.layout?.volumes ?? []).filter((v) => v.content.type === 'swap');
    const ev: CheckEvidence[] = [...swaps.map((e) => ({ source: '/etc/fstab', line: e.line, value: `${e.device} swap` })), ...vols.map((v) => ({ source: v.id, value: 'swap signature (SWAPSPACE2)' }))];
    if (swaps.length || vols.length) return notMet(bad, `swap on the system disk (${[...swaps.map((e) => e.device), ...vols.map((v) => v.id)].join(', ')})`, ev, 'Remove the swap partition or file from the OS disk; use the resource disk for swap (on Azure, through cloud-init or the agent).');
    const fstab = await guestFile(ctx, '/etc/fstab');
    const fstabEv = 'lines' in fstab ? { source: '/etc/fstab', value: `${g.fstab.length} entries, none of type swap` } : { source: '/etc/fstab', absent: true };
    return ok('no swap partition or swap entry in /etc/fstab', [fstabEv, { source: 'volumes', value: 'no swap signature', absent: true }]);
  },
};

export const diskLvm: Rule = {
  id: 'disk.lvm',
  title: 'no LVM for the root',
  scope: 'linux',
  severity: 'FAILED',
  names: { jdcloud: 'lvm' },
  async run(ctx, _profile, bad) {
    const root = ctx.layout?.volumes.find((v) => v.id === ctx.guest!.root);
    if (!root) return error(`the root volume ${ctx.guest!.root} is not in the layout`);
    if (root.scheme === 'lvm') return notMet(bad, `the root is the LVM logical volume ${root.id}`, [{ source: root.id, value: `LVM logical volume in VG ${String(root.facts.vg)}` }], 'Use a plain partition for the root filesystem on the system disk.');
    return ok(`the root is partition ${root.id}, not a logical volume`, [{ source: root.id, value: `${root.typeName} partition` }]);
  },
};

export const diskUefiFallback: Rule = {
  id: 'disk.uefi-fallback',
  title: 'UEFI fallback loader',
  scope: 'disk',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    const b = bootMode(ctx);
    if (!b) return noLayout(ctx);
    if (!b.uefi) return skipped('no EFI system partition: the disk does not boot by UEFI', b.evidence);
    const esp = b.esp!;
    let fs;
    try {
      fs = await ctx.memo(`fs:${esp.id}`, () => openFileSystem(esp, ctx.signal ? { signal: ctx.signal } : {}));
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      return error(`the EFI system partition ${esp.id} (${esp.content.type}) could not be read: ${e.message}`, b.evidence);
    }
    // Firmware looks for the fallback loader without regard to case (FAT).
    const loader = '/EFI/BOOT/BOOTX64.EFI';
    const found = await fs.stat(loader).catch((e: unknown) => {
      if (e instanceof DiskProbeError) return undefined;
      throw e;
    });
    if (found?.type === 'file') return ok(`\\EFI\\BOOT\\BOOTX64.EFI is on ${esp.id} (${found.size} bytes)`, [{ source: `${esp.id}:${loader}`, value: `${found.size} bytes` }]);
    const efi = await fs.readdir('/EFI').then(
      (l) => l.map((e) => e.name),
      () => [] as string[],
    );
    return notMet(bad, `no \\EFI\\BOOT\\BOOTX64.EFI on ${esp.id}: firmware that boots the disk without its own boot entries (a new VM) finds no loader`, [{ source: `${esp.id}:${loader}`, absent: true }, { source: `${esp.id}:/EFI`, value: efi.length ? efi.join(', ') : 'empty or absent' }], 'Install the loader at the fallback path too (grub-install --removable, or copy shimx64.efi/grubx64.efi to \\EFI\\BOOT\\BOOTX64.EFI).');
  },
};

export const DISK_RULES: Rule[] = [diskPartitionTable, diskBootMode, diskFilesystem, diskFsClean, diskUsage, diskInodeUsage, diskRootDisk, diskSingleOs, diskSwap, diskLvm, diskUefiFallback];
