/**
 * Image-level items (CHECKS.md "Image-level items"; vendor-checks.md A1–A11): the container's
 * format, sizes, digests and integrity, and whether the image holds a system at all.
 */
import { checkIntegrity } from '../../container/qcow2/index.js';
import { checkVmdkIntegrity } from '../../container/vmdk/index.js';
import { checkVhdIntegrity } from '../../container/vhd/integrity.js';
import { DiskProbeError } from '../../errors.js';
import type { CheckContext } from '../context.js';
import { error, gib, GiB, MiB, notMet, notOpened, ok, skipped, type Rule } from '../rule.js';
import type { CheckEvidence, Outcome } from '../types.js';

function probeEvidence(ctx: CheckContext): CheckEvidence[] {
  const p = ctx.probe;
  if (!p) return [];
  return p.evidence.map((e) => ({ source: `${p.format} probe`, offset: e.offset, value: e.what }));
}

export const imageFormat: Rule = {
  id: 'image.format',
  title: 'image format',
  scope: 'image',
  severity: 'FAILED',
  names: { didi: 'FORMAT', jdcloud: 'diskFormat', alibaba: 'image format', ecs: 'ImageFormat' },
  async run(ctx, profile, bad) {
    const p = ctx.probe;
    const f = ctx.image.format;
    const evidence = probeEvidence(ctx);
    const name = `${f}${ctx.image.subformat ? ` (${ctx.image.subformat})` : ''}`;
    if (!p && !ctx.disk) return error(`the format could not be determined: ${ctx.openError ?? 'the image was not probed'}`);
    if (p && p.alsoMatched.length) {
      return notMet(bad, `the file matches more than one format (${[p.format, ...p.alsoMatched.map((m) => m.format)].join(', ')}): importers may read it differently from what was meant`, evidence, 'Convert it with qemu-img to one unambiguous format and upload that.', f);
    }
    if (p && p.format === 'ova' && profile.formats.includes('ova')) {
      if (!ctx.disk) return notMet(bad, `an OVA package whose first disk could not be opened: ${ctx.openError ?? 'unknown'}`, evidence, 'Re-export the appliance (ovftool) and check its manifest.', 'ova');
      return ok(`an OVA package, which this cloud imports; its first disk is ${ctx.disk.format}${ctx.disk.subformat ? ` (${ctx.disk.subformat})` : ''}`, evidence, 'ova');
    }
    if (p && p.kind !== 'disk') {
      const why = {
        compressed: `a ${f} compressed file, not a disk image`,
        archive: f === 'ova' ? 'an OVA package (a tar of an appliance), not a disk image' : `a ${f} archive, not a disk image`,
        installer: 'an ISO 9660 installation image, not an installed system disk',
        encrypted: 'an encrypted (LUKS) volume that the cloud cannot read',
        empty: 'empty',
      }[p.kind];
      const suggestion = p.kind === 'compressed' ? 'Decompress it first and upload the image inside.' : p.kind === 'archive' ? 'Extract the disk image (an OVA holds VMDK files) and upload that.' : p.kind === 'installer' ? 'Install the system into a virtual disk and upload that disk, not the installer.' : p.kind === 'encrypted' ? 'Upload an unencrypted image; the cloud encrypts disks itself.' : 'Upload the disk image.';
      return notMet(bad, `the file is ${why}`, evidence, suggestion, f);
    }
    if (p?.problem) return notMet(bad, `${name}: ${p.problem}`, evidence, 'Convert the image with qemu-img convert to a supported format.', f);
    if (!profile.formats.includes(f)) {
      return notMet(bad, `${name} is not among the formats this cloud imports (${profile.formats.join(', ')})`, evidence, `Convert it, for example: qemu-img convert -O ${profile.formats.includes('qcow2') ? 'qcow2' : profile.formats[0]} <image> <output>.`, f);
    }
    if (!evidence.length) evidence.push({ source: 'container', value: `opened as ${name}` });
    return ok(`${name}, which this cloud imports`, evidence, f);
  },
};

export const imageSystem: Rule = {
  id: 'image.system',
  title: 'system image',
  scope: 'image',
  severity: 'FAILED',
  names: { ecs: 'GUESTOS.SystemImage', alibaba: 'system image', didi: 'OS_TYPE', jdcloud: 'osType' },
  async run(ctx, _profile, bad) {
    const p = ctx.probe;
    if (p && (p.kind === 'installer' || p.kind === 'empty')) return notMet(bad, p.kind === 'installer' ? 'an ISO installation image holds no installed system' : 'the file is empty', probeEvidence(ctx), 'Upload the system disk of an installed machine.');
    if (!ctx.disk) return notOpened(ctx);
    if (p?.problem && /zero/i.test(p.problem)) return notMet(bad, p.problem, probeEvidence(ctx), 'Upload the system disk of an installed machine.');
    const layout = ctx.layout;
    if (!layout) return error('the volumes could not be read');
    const fsVolumes = layout.volumes.filter((v) => v.content.usage === 'filesystem');
    const g = ctx.guest;
    if (g) {
      const ev: CheckEvidence[] = [{ source: g.root, value: `${g.identity.product ?? g.identity.distro} root (${(ctx.guest!.fs.mounted[0]?.fs.type) ?? '?'})` }];
      if (g.identity.source) ev.push({ source: g.identity.source, value: g.identity.product ?? g.identity.distro });
      else {
        // A root without a release file: found by its fstab and a shell.
        if (g.fstab.length || g.mounts.length) ev.push({ source: '/etc/fstab', value: `${g.fstab.length} entries` });
        if (g.archSource) ev.push({ source: g.archSource, value: `ELF ${g.arch}` });
      }
      return ok(`Linux (${g.identity.product ?? g.identity.distro}) installed on ${g.root}`, ev, 'linux');
    }
    const w = ctx.windows;
    if (w) {
      const ev: CheckEvidence[] = [{ source: `${w.root}:${w.systemRoot}/System32/config/SYSTEM`, value: w.hives.find((h) => h.name === 'SYSTEM')?.present ? 'present' : 'missing' }];
      if (w.identity.productName) ev.push({ source: 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion', value: `ProductName = ${w.identity.productName}` });
      return ok(`Windows (${w.identity.product ?? 'version unknown'}) installed on ${w.root}`, ev, 'windows');
    }
    const locked = layout.volumes.find((v) => v.content.type.toLowerCase() === 'bitlocker');
    if (locked) return error(`${locked.id} is BitLocker-encrypted: what it holds cannot be read`, [{ source: locked.id, value: 'BitLocker' }]);
    if (!fsVolumes.length) return notMet(bad, `no filesystem found on the disk (${layout.disks[0]?.table.scheme ?? 'no'} partition table, ${layout.volumes.length} volume(s))`, [{ source: 'volumes', value: `${layout.volumes.length} volume(s), none with a filesystem` }], 'Upload the system disk of an installed machine, not a data disk or an empty disk.');
    return notMet(bad, `no operating system root found among ${fsVolumes.map((v) => `${v.id} (${v.content.type})`).join(', ')}`, fsVolumes.map((v) => ({ source: v.id, value: `${v.content.type}: no /etc/os-release, release file or /etc/fstab with a shell` })), 'Upload the system disk, not a data disk.');
  },
};

export const imageActualSize: Rule = {
  id: 'image.actual-size',
  title: 'image file size',
  scope: 'image',
  severity: 'FAILED',
  names: { didi: 'ACTUAL_DISK_SIZE', jdcloud: 'size', alibaba: 'image size', ecs: 'ImageSize' },
  async run(ctx, profile, bad) {
    const files = ctx.image.files;
    if (!files.length) return error('the size of the image file is not known');
    const total = files.reduce((s, f) => s + f.size, 0);
    const evidence = files.map((f) => ({ source: f.label, value: `${f.size} bytes` }));
    if (profile.actualSizeMax !== undefined && total > profile.actualSizeMax) {
      return notMet(bad, `the image's file(s) hold ${gib(total)}, above this cloud's limit of ${gib(profile.actualSizeMax)}`, evidence, 'Convert it to a compressed or sparse format (qemu-img convert -c -O qcow2), or shrink the filesystems first.', total);
    }
    return ok(`${gib(total)} in ${files.length} file(s)${profile.actualSizeMax !== undefined ? `, within the limit of ${gib(profile.actualSizeMax)}` : ''}`, evidence, total);
  },
};

export const imageVirtualSize: Rule = {
  id: 'image.virtual-size',
  title: 'system disk size',
  scope: 'image',
  severity: 'FAILED',
  names: { didi: 'VIRTUAL_DISK_SIZE', alibaba: 'disk size', ecs: 'SystemDiskSize', jdcloud: 'systemDiskSizeGB' },
  async run(ctx, profile, bad) {
    const size = ctx.disk?.size ?? ctx.image.virtualSize;
    if (size === undefined) return error('the virtual size is not known: the image could not be opened');
    const evidence: CheckEvidence[] = [{ source: `${ctx.image.format} header`, value: `virtual size ${size} bytes` }];
    if (profile.virtualSizeMax !== undefined && size > profile.virtualSizeMax) {
      return notMet(bad, `the virtual disk is ${gib(size)}, above this cloud's limit of ${gib(profile.virtualSizeMax)}`, evidence, 'Shrink the filesystem and partition, then the image (qemu-img resize --shrink), or move data to a data disk.', size);
    }
    if (profile.virtualSizeMin !== undefined && size < profile.virtualSizeMin) {
      return notMet('WARNING', `the virtual disk is ${gib(size)}, below the ${gib(profile.virtualSizeMin)} this cloud recommends for a system disk`, evidence, `Choose a system disk of at least ${gib(profile.virtualSizeMin)} when importing; the root partition can grow after the first boot.`, size);
    }
    return ok(`${gib(size)} (${Math.ceil(size / GiB)} GiB system disk)`, evidence, size);
  },
};

export const imageMd5: Rule = {
  id: 'image.md5',
  title: 'image checksum',
  scope: 'image',
  severity: 'WARNING',
  names: { didi: 'MD5', alibaba: 'md5', ecs: 'ImageChecksum', jdcloud: 'md5' },
  async run(ctx) {
    const d = ctx.image.digests;
    if (!d?.length) return notMet('WARNING', `the checksum was not computed: ${ctx.image.digestSkipped ?? 'no digest was given'}`, [{ source: ctx.image.label, absent: true, value: 'no digest' }], 'Run the check without --no-md5 to compute it, or compute it with md5sum.');
    const evidence = d.map((x) => ({ source: x.file, value: [x.md5 && `md5 ${x.md5}`, x.sha256 && `sha256 ${x.sha256}`].filter(Boolean).join(', ') }));
    return ok(d.length === 1 ? `MD5 ${d[0]!.md5 ?? '-'}` : `digests of ${d.length} files`, evidence, d[0]!.md5 ?? d[0]!.sha256);
  },
};

export const imageIntegrity: Rule = {
  id: 'image.integrity',
  title: 'container integrity',
  scope: 'image',
  severity: 'FAILED',
  names: { alibaba: 'image integrity', ecs: 'ImageIntegrity', didi: 'IMAGE_CHECK', jdcloud: 'imageCheck' },
  async run(ctx, _profile, bad) {
    const disk = ctx.disk;
    if (!disk) return notOpened(ctx);
    if (disk.format === 'raw') return skipped('a raw image has no container metadata to check', [{ source: ctx.image.label, value: 'raw' }]);
    const findings = [...(disk.findings ?? []), ...ctx.image.findings.filter((f) => !(disk.findings ?? []).includes(f))];
    const evidence: CheckEvidence[] = [];
    let verdict: 'OK' | 'WARNING' | 'FAILED' = 'OK';
    if (disk.format === 'qcow2') {
      const f = disk.facts;
      evidence.push({ source: 'qcow2 header', offset: 72, value: `incompatible_features ${String(f.incompatibleFeatures)}${f.dirty ? ' (dirty)' : ''}${f.corrupt ? ' (corrupt)' : ''}` });
      if (f.corrupt) verdict = 'FAILED';
      else if (f.dirty) verdict = 'WARNING';
      try {
        const report = await ctx.memo('qcow2-integrity', () => checkIntegrity(disk.source, ctx.signal ? { signal: ctx.signal } : {}));
        evidence.push({ source: 'qcow2 refcounts and L1/L2 tables', value: `${report.corruptions} corruption(s), ${report.leaks} leaked cluster(s), ${report.checkErrors} check error(s); ${report.allocatedClusters}/${report.totalClusters} clusters allocated` });
        for (const x of report.findings.slice(0, 8)) evidence.push({ source: 'qcow2', ...(x.offset !== undefined ? { offset: x.offset } : {}), value: x.message });
        // Check errors are reads that failed while checking (qemu-img check counts them apart
        // from corruption). The walk goes on without what it could not read — a refcount block
        // it could not read counts as zeros — so its corruption counts are not evidence then.
        if (report.checkErrors) return error(`the qcow2 metadata could not all be read (${report.checkErrors} check error(s)); its consistency is unknown`, evidence);
        if (report.corruptions) verdict = 'FAILED';
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        return error(`the qcow2 metadata could not be checked: ${e.message}`, evidence);
      }
    }
    if (disk.format === 'vmdk') {
      try {
        const report = await ctx.memo('vmdk-integrity', () => checkVmdkIntegrity(disk, ctx.signal ? { signal: ctx.signal } : {}));
        evidence.push({ source: 'VMDK grain directories, tables and markers', value: `${report.errors} error(s), ${report.warnings} warning(s); ${report.allocatedGrains} grains allocated (${report.compressedGrains} compressed) in ${report.extents} sparse extent(s)` });
        for (const x of report.findings.slice(0, 8)) evidence.push({ source: 'vmdk', ...(x.offset !== undefined ? { offset: x.offset } : {}), value: x.message });
        if (report.errors) verdict = 'FAILED';
        else if (report.warnings) verdict = 'WARNING';
      } catch (e) {
        if (!(e instanceof DiskProbeError)) throw e;
        return error(`the VMDK metadata could not be checked: ${e.message}`, evidence);
      }
    }
    if (disk.format === 'vhd' || disk.format === 'vhdx') {
      const report = checkVhdIntegrity(disk);
      evidence.push({ source: `${disk.format.toUpperCase()} allocation table`, value: `${report.errors} error(s), ${report.warnings} warning(s); ${report.allocatedBlocks}/${report.blocks} blocks allocated` });
      if (report.errors) verdict = 'FAILED';
    }
    for (const x of findings) {
      evidence.push({ source: `${disk.format} ${x.code}`, ...(x.offset !== undefined ? { offset: x.offset } : {}), value: x.message });
      if (x.severity === 'error') verdict = 'FAILED';
      else if (x.severity === 'warning' && verdict === 'OK') verdict = 'WARNING';
    }
    if (verdict === 'OK') {
      if (!evidence.length) evidence.push({ source: `${disk.format} header`, value: 'read and validated when the image was opened; nothing to report' });
      return ok(`the ${disk.format} metadata is consistent`, evidence);
    }
    const what = verdict === 'FAILED' ? 'corrupt' : 'not cleanly closed, but readable';
    return notMet(verdict === 'FAILED' ? bad : 'WARNING', `the ${disk.format} container is ${what}`, evidence, verdict === 'FAILED' ? 'Repair it (qemu-img check -r all) or re-export the image from its source.' : 'Repair it with qemu-img check -r all, or convert it with qemu-img convert, before uploading.');
  },
};

export const imageBacking: Rule = {
  id: 'image.backing',
  title: 'no backing chain',
  scope: 'image',
  severity: 'FAILED',
  names: { alibaba: 'backing file', ecs: 'BackingFile', didi: 'BACKING_FILE', jdcloud: 'backingFile' },
  async run(ctx, _profile, bad) {
    const disk = ctx.disk;
    if (!disk) return notOpened(ctx);
    const chain: string[] = [];
    for (let d = disk.backing; d && chain.length < 64; d = d.backing) chain.push(d.label);
    const named = disk.facts.backingFile;
    if (chain.length || named) {
      return notMet(bad, `the image depends on ${chain.length ? chain.join(' → ') : String(named)}: only its differences are in this file`, [{ source: `${disk.format} header`, value: `backing file ${String(named ?? chain[0])}` }], 'Flatten it into one self-contained image: qemu-img convert -O qcow2 <image> <output>.');
    }
    return ok('the image is self-contained (no backing file or parent)', [{ source: `${disk.format} header`, value: 'no backing file' }]);
  },
};

/** Azure: a fixed VHD whose virtual size is a whole number of MiB (vendor-checks A5). */
export const imageAzureVhd: Rule = {
  id: 'image.fixed-vhd',
  title: 'fixed VHD, 1 MiB aligned',
  scope: 'image',
  severity: 'FAILED',
  names: {},
  async run(ctx, _profile, bad) {
    const { format, subformat, virtualSize } = ctx.image;
    const ev: CheckEvidence[] = [...probeEvidence(ctx), { source: `${format} header`, value: `${format}${subformat ? ` ${subformat}` : ''}, virtual size ${virtualSize ?? 'unknown'}` }];
    if (format !== 'vhd' || subformat !== 'fixed') return notMet(bad, `the image is ${format}${subformat ? ` (${subformat})` : ''}; Azure takes fixed VHDs only`, ev, `Convert it: qemu-img convert -O vpc -o subformat=fixed,force_size <image> <output>.vhd.`);
    // Azure reads the footer's current_size (not the CHS geometry some readers use).
    const current = typeof ctx.disk?.facts.currentSize === 'number' ? ctx.disk.facts.currentSize : virtualSize;
    if (current === undefined) return error('the VHD footer gives no virtual size', ev);
    ev.push({ source: 'VHD footer', offset: ctx.image.fileSize - 512 + 48, value: `current_size ${current}` });
    if (current % MiB) return notMet(bad, `the virtual size ${current} bytes is not a whole number of MiB`, ev, 'Resize the raw disk to a multiple of 1 MiB before converting (qemu-img resize -f raw), then convert with -o subformat=fixed,force_size.');
    if (ctx.image.fileSize !== current + 512) return notMet(bad, `the file is ${ctx.image.fileSize} bytes; a fixed VHD of ${current} bytes is ${current + 512} (the data and the 512-byte footer)`, [...ev, { source: ctx.image.label, value: `${ctx.image.fileSize} bytes` }], 'Convert it again with qemu-img convert -O vpc -o subformat=fixed,force_size.');
    return ok('a fixed VHD whose size is a whole number of MiB, the file its size plus the footer', [...ev, { source: ctx.image.label, value: `${ctx.image.fileSize} bytes` }]);
  },
};

export const IMAGE_RULES: Rule[] = [imageFormat, imageSystem, imageActualSize, imageVirtualSize, imageMd5, imageIntegrity, imageBacking, imageAzureVhd];

/** The outcome of every Linux rule when there is no Linux guest. */
export function noGuestOutcome(ctx: CheckContext): Outcome {
  const n = ctx.noGuest ?? { verdict: 'ERROR' as const, reason: 'no Linux root was found' };
  return n.verdict === 'SKIPPED' ? skipped(n.reason) : error(n.reason);
}

/** The outcome of a Windows item when there is no Windows guest: SKIPPED for a Linux guest, else ERROR. */
export function noWindowsOutcome(ctx: CheckContext): Outcome {
  const n = ctx.noWindows ?? { verdict: 'ERROR' as const, reason: 'no Windows installation was found' };
  return n.verdict === 'SKIPPED' ? skipped(n.reason) : error(n.reason);
}
