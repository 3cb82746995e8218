/**
 * Disk formats diskprobe names but does not read: VDI, QED, Parallels, and LUKS-encrypted
 * volumes. Each probe reads only the header fields that identify it and give its size.
 *
 * References: VDI — VirtualBox `VDICore.h` (VDIPREHEADER, VDIHEADER1PLUS), as documented by
 * qemu `block/vdi.c`; QED — qemu `docs/interop/qed_spec.rst`; Parallels — qemu
 * `docs/interop/parallels.rst`; LUKS — "LUKS On-Disk Format Specification" 1.2.3 and
 * "LUKS2 On-Disk Format Specification" 1.1.
 */
import { exact, u64 } from '../../errors.js';
import { asciiBytes, cString, hasBytes, viewOf } from '../../util/bytes.js';
import type { FormatProbe, ProbeOutcome } from '../types.js';

const VDI_SIGNATURE = 0xbeda107f;
/** VDI: pre-header signature, version; header (v1.1) image type and disk size. */
const VdiHeader = { text: 0, u32Signature: 0x40, u32Version: 0x44, u32Type: 0x4c, u64DiskSize: 0x170, LENGTH: 0x180 } as const;
const VDI_TYPES: Record<number, string> = { 1: 'dynamic', 2: 'fixed', 3: 'undo', 4: 'differencing' };

const QED_MAGIC = asciiBytes('QED\0');
/** qed_spec.rst "Header": field offsets (little-endian). */
const QedHeader = { magic: 0, cluster_size: 4, table_size: 8, header_size: 12, features: 16, image_size: 48, LENGTH: 64 } as const;

const PARALLELS_MAGICS = [asciiBytes('WithoutFreeSpace'), asciiBytes('WithouFreSpacExt')];
/** parallels.rst "Header": field offsets (little-endian). */
const ParallelsHeader = { magic: 0, version: 16, nb_sectors: 36, LENGTH: 64 } as const;

export const LUKS_MAGIC = [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe] as const;
/** LUKS1 phdr and LUKS2 binary header share these offsets (big-endian). */
export const LuksHeader = { magic: 0, version: 6, uuid: 168, UUID_LENGTH: 40, LENGTH: 208 } as const;

const unsupported = (name: string) => `${name} images are recognised but not read by diskprobe; convert with \`qemu-img convert -O qcow2\``;

export const vdiProbe: FormatProbe = {
  formats: ['vdi'],
  probe(ctx): ProbeOutcome {
    if (ctx.head.length < VdiHeader.LENGTH) return { reject: 'shorter than a VDI header' };
    const view = viewOf(ctx.head);
    if (view.getUint32(VdiHeader.u32Signature, true) !== VDI_SIGNATURE) return { reject: 'no VDI signature 0xbeda107f at 0x40' };
    const where = { layer: 'container' as const, format: 'vdi', device: ctx.dev.label, structure: 'VDIHEADER1' };
    const version = view.getUint32(VdiHeader.u32Version, true);
    const type = view.getUint32(VdiHeader.u32Type, true);
    return {
      format: 'vdi',
      kind: 'disk',
      subformat: VDI_TYPES[type] ?? `type${type}`,
      virtualSize: u64(view, VdiHeader.u64DiskSize, true, { ...where, field: 'cbDisk', offset: VdiHeader.u64DiskSize }),
      evidence: [
        { offset: 0, what: `pre-header "${cString(ctx.head, 0, 0x40)}"` },
        { offset: VdiHeader.u32Signature, what: 'signature 0xbeda107f' },
        { offset: VdiHeader.u32Version, what: `version 0x${version.toString(16)}` },
      ],
      problem: unsupported('VirtualBox VDI'),
    };
  },
};

export const qedProbe: FormatProbe = {
  formats: ['qed'],
  probe(ctx): ProbeOutcome {
    if (!hasBytes(ctx.head, 0, QED_MAGIC)) return { reject: 'no "QED\\0" magic at 0' };
    if (ctx.head.length < QedHeader.LENGTH) return { reject: '"QED\\0" magic, but shorter than a QED header' };
    const view = viewOf(ctx.head);
    const where = { layer: 'container' as const, format: 'qed', device: ctx.dev.label, structure: 'QEDHeader' };
    return {
      format: 'qed',
      kind: 'disk',
      virtualSize: u64(view, QedHeader.image_size, true, { ...where, field: 'image_size', offset: QedHeader.image_size }),
      evidence: [
        { offset: 0, what: 'magic "QED\\0"' },
        { offset: QedHeader.cluster_size, what: `cluster_size = ${view.getUint32(QedHeader.cluster_size, true)}` },
      ],
      problem: unsupported('QED'),
    };
  },
};

export const parallelsProbe: FormatProbe = {
  formats: ['parallels'],
  probe(ctx): ProbeOutcome {
    const magic = PARALLELS_MAGICS.find((m) => hasBytes(ctx.head, 0, m));
    if (!magic) return { reject: 'no "WithoutFreeSpace" or "WithouFreSpacExt" magic at 0' };
    if (ctx.head.length < ParallelsHeader.LENGTH) return { reject: 'Parallels magic, but shorter than its header' };
    const view = viewOf(ctx.head);
    const where = { layer: 'container' as const, format: 'parallels', device: ctx.dev.label, structure: 'ParallelsHeader' };
    // The original "WithoutFreeSpace" format has a 32-bit sector count; its high word is
    // undefined (qemu block/parallels.c reads only the low 32 bits for it).
    const sectors = magic === PARALLELS_MAGICS[0]
      ? view.getUint32(ParallelsHeader.nb_sectors, true)
      : u64(view, ParallelsHeader.nb_sectors, true, { ...where, field: 'nb_sectors', offset: ParallelsHeader.nb_sectors });
    return {
      format: 'parallels',
      kind: 'disk',
      virtualSize: exact(sectors * 512, { ...where, field: 'nb_sectors', offset: ParallelsHeader.nb_sectors }),
      evidence: [
        { offset: 0, what: `magic "${cString(magic, 0, 16)}"` },
        { offset: ParallelsHeader.version, what: `version = ${view.getUint32(ParallelsHeader.version, true)}` },
      ],
      problem: unsupported('Parallels'),
    };
  },
};

export const luksProbe: FormatProbe = {
  formats: ['luks'],
  probe(ctx): ProbeOutcome {
    if (!hasBytes(ctx.head, 0, LUKS_MAGIC)) return { reject: 'no "LUKS\\xba\\xbe" magic at 0' };
    if (ctx.head.length < LuksHeader.LENGTH) return { reject: 'LUKS magic, but shorter than a LUKS header' };
    const version = viewOf(ctx.head).getUint16(LuksHeader.version);
    const uuid = cString(ctx.head, LuksHeader.uuid, LuksHeader.UUID_LENGTH);
    return {
      format: 'luks',
      kind: 'encrypted',
      subformat: `luks${version}`,
      evidence: [
        { offset: 0, what: 'magic "LUKS\\xba\\xbe"' },
        { offset: LuksHeader.version, what: `version = ${version}` },
        { offset: LuksHeader.uuid, what: `uuid = ${uuid}` },
      ],
      facts: { uuid },
      problem: 'a LUKS-encrypted volume: diskprobe does not decrypt, and clouds cannot boot it without the key',
    };
  },
};
