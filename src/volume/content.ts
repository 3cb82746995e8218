/**
 * What a volume holds, from its first bytes (and, for RAID superblocks stored at the end, its
 * last): a cheap probe that names the filesystem or container with its UUID and label, the
 * way `blkid -p` does, so that its answers can be compared with blkid's. Nothing here mounts or
 * walks a filesystem; the NTFS, FAT and exFAT labels, which live in a file or a directory
 * rather than the superblock, are read with a bounded number of small reads.
 *
 * References (structures and offsets): ext4 — the kernel's Documentation/filesystems/ext4
 * "Super Block"; XFS — "XFS Algorithms & Data Structures", "Superblocks"; NTFS — the Linux-NTFS
 * project's "NTFS Documentation" (boot sector, MFT record, $Volume); FAT — Microsoft "FAT32 File
 * System Specification" (BPB, directory entries); exFAT — Microsoft "exFAT File System
 * Specification" §3.1 and §7.3; btrfs — "On-disk Format", superblock; swap — the kernel's
 * include/linux/swap.h `union swap_header`; ISO 9660 — ECMA-119 §8.4; LUKS — the LUKS1 and
 * LUKS2 on-disk format specifications; md — the kernel's include/uapi/linux/raid/md_p.h
 * (`mdp_superblock_s` for 0.90, `mdp_superblock_1`); BitLocker — the "-FVE-FS-" OEM id of its
 * boot sector (libbde's documentation); LVM2 — lvm/index.ts.
 */
import type { BlockDevice } from '../device/types.js';
import { asciiBytes, copyBytes, cString, hasBytes, isAllZero, latin1, utf16le, uuidString } from '../util/bytes.js';
import { LUKS_MAGIC, LuksHeader } from '../container/other/named.js';
import type { VolumeContent } from './types.js';
import { findPvLabel, pvUuidString } from './lvm/layout.js';

/** Bytes read from a volume's start for the probe: every signature below lies inside them. */
export const CONTENT_HEAD_BYTES = 68 * 1024;

/** Context of one probe: the volume, its first bytes, and a bounded reader for the rest. */
interface Ctx {
  dev: BlockDevice;
  head: Uint8Array;
  signal: AbortSignal | undefined;
  /** Reads that the label lookups may still make. */
  budget: number;
}

async function readMore(ctx: Ctx, offset: number, length: number): Promise<Uint8Array | undefined> {
  if (ctx.budget <= 0 || offset < 0 || length <= 0 || offset + length > ctx.dev.size) return undefined;
  ctx.budget--;
  if (offset + length <= ctx.head.length) return ctx.head.subarray(offset, offset + length);
  return ctx.dev.read(offset, length, ctx.signal);
}

// ---------------------------------------------------------------------------------------------
// ext2/3/4: the superblock at byte 1024 (ext4 docs, "Super Block").

const Ext = {
  OFFSET: 1024,
  s_log_block_size: 0x18,
  s_magic: 0x38,
  s_state: 0x3a,
  s_rev_level: 0x4c,
  s_feature_compat: 0x5c,
  s_feature_incompat: 0x60,
  s_feature_ro_compat: 0x64,
  s_uuid: 0x68,
  s_volume_name: 0x78,
  s_flags: 0x160,
  MAGIC: 0xef53,
} as const;
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
/** Features ext2 and ext3 drivers understand (what blkid tests to tell ext2/3 from ext4). */
const EXT3_INCOMPAT = 0x2 | 0x4 | 0x10; // filetype, recover, meta_bg
const EXT2_INCOMPAT = 0x2 | 0x10; // filetype, meta_bg
const EXT23_RO_COMPAT = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
const EXT2_FLAGS_TEST_FILESYS = 0x4;

/** blkid's name for an ext superblock's feature set: jbd, ext2, ext3, ext4 or ext4dev. */
export function extTypeOf(compat: number, incompat: number, ro: number, flags: number): string {
  if (incompat & INCOMPAT_JOURNAL_DEV) return 'jbd';
  if ((ro & ~EXT23_RO_COMPAT) !== 0 || (incompat & ~EXT3_INCOMPAT) !== 0) return flags & EXT2_FLAGS_TEST_FILESYS ? 'ext4dev' : 'ext4';
  if (compat & COMPAT_HAS_JOURNAL) return 'ext3';
  return (incompat & ~EXT2_INCOMPAT) === 0 ? 'ext2' : 'ext4';
}

function probeExt(h: Uint8Array): VolumeContent | undefined {
  if (h.length < Ext.OFFSET + 0x170) return undefined;
  const v = new DataView(h.buffer, h.byteOffset + Ext.OFFSET, 0x170);
  if (v.getUint16(Ext.s_magic, true) !== Ext.MAGIC) return undefined;
  const compat = v.getUint32(Ext.s_feature_compat, true);
  const incompat = v.getUint32(Ext.s_feature_incompat, true);
  const ro = v.getUint32(Ext.s_feature_ro_compat, true);
  const type = extTypeOf(compat, incompat, ro, v.getUint32(Ext.s_flags, true));
  const base = Ext.OFFSET;
  const logBlock = v.getUint32(Ext.s_log_block_size, true);
  return {
    type,
    usage: type === 'jbd' ? 'other' : 'filesystem',
    version: '1.0',
    uuid: uuidString(h, base + Ext.s_uuid),
    label: cString(h, base + Ext.s_volume_name, 16) || undefined,
    offset: base + Ext.s_magic,
    facts: {
      blockSize: logBlock <= 6 ? 1024 << logBlock : undefined,
      featureCompat: compat,
      featureIncompat: incompat,
      featureRoCompat: ro,
      revision: v.getUint32(Ext.s_rev_level, true),
      cleanlyUnmounted: (v.getUint16(Ext.s_state, true) & 1) === 1,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// XFS: the superblock at byte 0 of AG 0, big-endian (XFS Algorithms & Data Structures).

const Xfs = { sb_magicnum: 0, sb_blocksize: 4, sb_uuid: 32, sb_versionnum: 100, sb_sectsize: 102, sb_fname: 108 } as const;
const XFS_MAGIC = asciiBytes('XFSB');

function probeXfs(h: Uint8Array): VolumeContent | undefined {
  if (h.length < 512 || !hasBytes(h, 0, XFS_MAGIC)) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, 512);
  const blockSize = v.getUint32(Xfs.sb_blocksize);
  const version = v.getUint16(Xfs.sb_versionnum) & 0xf;
  if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) return undefined;
  return {
    type: 'xfs',
    usage: 'filesystem',
    version: String(version),
    uuid: uuidString(h, Xfs.sb_uuid),
    label: cString(h, Xfs.sb_fname, 12) || undefined,
    offset: 0,
    facts: { blockSize, sectorSize: v.getUint16(Xfs.sb_sectsize) },
  };
}

// ---------------------------------------------------------------------------------------------
// NTFS: the boot sector, then $Volume (MFT record 3) for the label and version.

const NtfsBoot = { oem_id: 3, bytes_per_sector: 0x0b, sectors_per_cluster: 0x0d, mft_lcn: 0x30, clusters_per_mft_record: 0x40, volume_serial_number: 0x48 } as const;
const NTFS_OEM = asciiBytes('NTFS    ');
/** MFT record header (FILE_RECORD_SEGMENT_HEADER) and attribute record offsets. */
const MftRecord = { magic: 0, usa_ofs: 4, usa_count: 6, attrs_offset: 0x14 } as const;
const Attr = { type: 0, length: 4, non_resident: 8, value_length: 0x10, value_offset: 0x14 } as const;
const AT_VOLUME_NAME = 0x60;
const AT_VOLUME_INFORMATION = 0x70;
const AT_END = 0xffffffff;
const FILE_MAGIC = asciiBytes('FILE');

async function probeNtfs(ctx: Ctx): Promise<VolumeContent | undefined> {
  const h = ctx.head;
  if (h.length < 512 || !hasBytes(h, NtfsBoot.oem_id, NTFS_OEM)) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, 512);
  const bps = v.getUint16(NtfsBoot.bytes_per_sector, true);
  const spcRaw = h[NtfsBoot.sectors_per_cluster]!;
  const spc = spcRaw <= 0x80 ? spcRaw : 2 ** (256 - spcRaw);
  if (bps < 256 || bps > 4096 || (bps & (bps - 1)) !== 0 || spc === 0 || (spc & (spc - 1)) !== 0) return undefined;
  const serial = (BigInt(v.getUint32(NtfsBoot.volume_serial_number + 4, true)) << 32n) | BigInt(v.getUint32(NtfsBoot.volume_serial_number, true));
  const content: VolumeContent = { type: 'ntfs', usage: 'filesystem', uuid: serial.toString(16).toUpperCase().padStart(16, '0'), offset: NtfsBoot.oem_id, facts: { bytesPerSector: bps, sectorsPerCluster: spc } };
  const cluster = bps * spc;
  const cpr = v.getInt8(NtfsBoot.clusters_per_mft_record);
  const recordSize = cpr > 0 ? cpr * cluster : 2 ** -cpr;
  const mftLcnHi = v.getUint32(NtfsBoot.mft_lcn + 4, true);
  if (recordSize < 256 || recordSize > 65536 || mftLcnHi >= 0x200000) return content;
  const recordAt = (mftLcnHi * 0x1_0000_0000 + v.getUint32(NtfsBoot.mft_lcn, true)) * cluster + 3 * recordSize;
  if (!Number.isSafeInteger(recordAt)) return content;
  const raw = await readMore(ctx, recordAt, recordSize);
  if (!raw || !hasBytes(raw, 0, FILE_MAGIC)) return content;
  const record = applyFixups(raw, bps);
  if (!record) return content;
  const rv = new DataView(record.buffer, record.byteOffset, record.byteLength);
  let at = rv.getUint16(MftRecord.attrs_offset, true);
  // Each attribute is at least 16 bytes long, so this walks at most recordSize / 16 of them.
  while (at + 24 <= record.length) {
    const type = rv.getUint32(at + Attr.type, true);
    const length = rv.getUint32(at + Attr.length, true);
    if (type === AT_END || length < 16 || at + length > record.length) break;
    if (record[at + Attr.non_resident] === 0) {
      const valueLength = rv.getUint32(at + Attr.value_length, true);
      const valueAt = at + rv.getUint16(at + Attr.value_offset, true);
      if (valueAt + valueLength <= at + length) {
        if (type === AT_VOLUME_NAME) content.label = utf16le(record, valueAt, valueLength) || undefined;
        if (type === AT_VOLUME_INFORMATION && valueLength >= 12) content.version = `${record[valueAt + 8]}.${record[valueAt + 9]}`;
      }
    }
    at += length;
  }
  return content;
}

/** A copy of an NTFS multi-sector record with its update sequence applied, or undefined if torn. */
function applyFixups(raw: Uint8Array, sectorSize: number): Uint8Array | undefined {
  const r = copyBytes(raw);
  const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const usaOfs = v.getUint16(MftRecord.usa_ofs, true);
  const usaCount = v.getUint16(MftRecord.usa_count, true);
  const stride = Math.min(sectorSize, 512);
  if (usaCount < 1 || usaOfs + usaCount * 2 > r.length || (usaCount - 1) * stride > r.length) return undefined;
  const usn = v.getUint16(usaOfs, true);
  for (let i = 1; i < usaCount; i++) {
    const end = i * stride - 2;
    if (v.getUint16(end, true) !== usn) return undefined;
    v.setUint16(end, v.getUint16(usaOfs + i * 2, true), true);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// FAT12/16/32: the BPB, and the volume label in the root directory (FAT32 spec §3, §6).

const Bpb = {
  BytsPerSec: 0x0b,
  SecPerClus: 0x0d,
  RsvdSecCnt: 0x0e,
  NumFATs: 0x10,
  RootEntCnt: 0x11,
  TotSec16: 0x13,
  Media: 0x15,
  FATSz16: 0x16,
  TotSec32: 0x20,
  FATSz32: 0x24,
  RootClus: 0x2c,
  BS_VolID16: 0x27,
  BS_VolLab16: 0x2b,
  BS_VolID32: 0x43,
  BS_VolLab32: 0x47,
} as const;
const ATTR_VOLUME_ID = 0x08;
const ATTR_LONG_NAME = 0x0f;
/** Root-directory bytes scanned for the volume label entry. */
const FAT_ROOT_SCAN = 64 * 1024;

async function probeFat(ctx: Ctx): Promise<VolumeContent | undefined> {
  const h = ctx.head;
  if (h.length < 512 || h[510] !== 0x55 || h[511] !== 0xaa) return undefined;
  if (h[0] !== 0xeb && h[0] !== 0xe9) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, 512);
  const bps = v.getUint16(Bpb.BytsPerSec, true);
  const spc = h[Bpb.SecPerClus]!;
  const reserved = v.getUint16(Bpb.RsvdSecCnt, true);
  const fats = h[Bpb.NumFATs]!;
  const media = h[Bpb.Media]!;
  if (![512, 1024, 2048, 4096].includes(bps) || spc === 0 || (spc & (spc - 1)) !== 0 || reserved === 0 || fats === 0 || fats > 4) return undefined;
  if (media !== 0xf0 && media < 0xf8) return undefined;
  const rootEntries = v.getUint16(Bpb.RootEntCnt, true);
  const fatSize = v.getUint16(Bpb.FATSz16, true) || v.getUint32(Bpb.FATSz32, true);
  const total = v.getUint16(Bpb.TotSec16, true) || v.getUint32(Bpb.TotSec32, true);
  const rootSectors = Math.ceil((rootEntries * 32) / bps);
  const dataStart = reserved + fats * fatSize + rootSectors;
  if (fatSize === 0 || total <= dataStart) return undefined;
  const clusters = Math.floor((total - dataStart) / spc);
  const fat32 = v.getUint16(Bpb.FATSz16, true) === 0;
  const version = fat32 ? 'FAT32' : clusters < 4085 ? 'FAT12' : 'FAT16';
  const idAt = fat32 ? Bpb.BS_VolID32 : Bpb.BS_VolID16;
  const serial = v.getUint32(idAt, true);
  const hex = serial.toString(16).toUpperCase().padStart(8, '0');
  let label: string | undefined = cString(h, fat32 ? Bpb.BS_VolLab32 : Bpb.BS_VolLab16, 11);
  if (label === 'NO NAME') label = undefined;
  // The label in the root directory is the one DOS and Windows show; blkid prefers it too.
  const rootAt = fat32 ? (dataStart + (v.getUint32(Bpb.RootClus, true) - 2) * spc) * bps : (reserved + fats * fatSize) * bps;
  const rootBytes = Math.min(FAT_ROOT_SCAN, fat32 ? spc * bps : rootSectors * bps);
  const root = Number.isSafeInteger(rootAt) ? await readMore(ctx, rootAt, rootBytes) : undefined;
  if (root) {
    for (let at = 0; at + 32 <= root.length; at += 32) {
      if (root[at] === 0) break;
      if (root[at] === 0xe5) continue;
      const attr = root[at + 11]!;
      if (attr !== ATTR_LONG_NAME && (attr & ATTR_VOLUME_ID) !== 0) {
        label = latin1(root, at, at + 11).replace(/ +$/, '') || undefined;
        break;
      }
    }
  }
  return {
    type: 'vfat',
    usage: 'filesystem',
    version,
    uuid: `${hex.slice(0, 4)}-${hex.slice(4)}`,
    label,
    offset: 0,
    facts: { bytesPerSector: bps, sectorsPerCluster: spc, clusters },
  };
}

// ---------------------------------------------------------------------------------------------
// exFAT: the main boot sector, and the volume label entry of the root directory (exFAT spec).

const ExfatBoot = { FileSystemName: 3, ClusterHeapOffset: 0x58, FirstClusterOfRootDirectory: 0x60, VolumeSerialNumber: 0x64, FileSystemRevision: 0x68, BytesPerSectorShift: 0x6c, SectorsPerClusterShift: 0x6d } as const;
const EXFAT_NAME = asciiBytes('EXFAT   ');
const EXFAT_LABEL_ENTRY = 0x83;

async function probeExfat(ctx: Ctx): Promise<VolumeContent | undefined> {
  const h = ctx.head;
  if (h.length < 512 || !hasBytes(h, ExfatBoot.FileSystemName, EXFAT_NAME)) return undefined;
  const v = new DataView(h.buffer, h.byteOffset, 512);
  const serial = v.getUint32(ExfatBoot.VolumeSerialNumber, true).toString(16).toUpperCase().padStart(8, '0');
  const content: VolumeContent = {
    type: 'exfat',
    usage: 'filesystem',
    version: `${h[ExfatBoot.FileSystemRevision + 1]}.${h[ExfatBoot.FileSystemRevision]}`,
    uuid: `${serial.slice(0, 4)}-${serial.slice(4)}`,
    offset: ExfatBoot.FileSystemName,
  };
  const bpsShift = h[ExfatBoot.BytesPerSectorShift]!;
  const spcShift = h[ExfatBoot.SectorsPerClusterShift]!;
  if (bpsShift < 9 || bpsShift > 12 || spcShift > 25 - bpsShift) return content;
  const bps = 2 ** bpsShift;
  const cluster = bps * 2 ** spcShift;
  const rootAt = v.getUint32(ExfatBoot.ClusterHeapOffset, true) * bps + (v.getUint32(ExfatBoot.FirstClusterOfRootDirectory, true) - 2) * cluster;
  const root = await readMore(ctx, rootAt, Math.min(cluster, FAT_ROOT_SCAN));
  if (root) {
    for (let at = 0; at + 32 <= root.length; at += 32) {
      const type = root[at]!;
      if (type === 0) break;
      if (type === EXFAT_LABEL_ENTRY) {
        const count = Math.min(root[at + 1]!, 11);
        content.label = utf16le(root, at + 2, count * 2) || undefined;
        break;
      }
    }
  }
  return content;
}

// ---------------------------------------------------------------------------------------------
// btrfs: the superblock at 64 KiB (btrfs "On-disk Format").

const BTRFS_SUPER = 0x10000;
const Btrfs = { fsid: 0x20, magic: 0x40, dev_item_uuid: 0xc9 + 0x42, label: 0x12b, LABEL_SIZE: 256 } as const;
const BTRFS_MAGIC = asciiBytes('_BHRfS_M');

function probeBtrfs(h: Uint8Array): VolumeContent | undefined {
  if (!hasBytes(h, BTRFS_SUPER + Btrfs.magic, BTRFS_MAGIC) || h.length < BTRFS_SUPER + Btrfs.label + Btrfs.LABEL_SIZE) return undefined;
  return {
    type: 'btrfs',
    usage: 'filesystem',
    uuid: uuidString(h, BTRFS_SUPER + Btrfs.fsid),
    uuidSub: uuidString(h, BTRFS_SUPER + Btrfs.dev_item_uuid),
    label: cString(h, BTRFS_SUPER + Btrfs.label, Btrfs.LABEL_SIZE) || undefined,
    offset: BTRFS_SUPER + Btrfs.magic,
  };
}

// ---------------------------------------------------------------------------------------------
// Swap: `union swap_header` in the first page, whose size the magic's place tells.

const Swap = { version: 1024, uuid: 1036, volume_name: 1052 } as const;
const SWAP_PAGE_SIZES = [4096, 8192, 16384, 65536];
const SWAP_MAGICS: [Uint8Array, string][] = [
  [asciiBytes('SWAPSPACE2'), 'swap'],
  [asciiBytes('SWAP-SPACE'), 'swap'],
  [asciiBytes('S1SUSPEND'), 'swsuspend'],
  [asciiBytes('S2SUSPEND'), 'swsuspend'],
  [asciiBytes('ULSUSPEND'), 'swsuspend'],
  [asciiBytes('LINHIB0001'), 'swsuspend'],
];

function probeSwap(h: Uint8Array): VolumeContent | undefined {
  for (const page of SWAP_PAGE_SIZES) {
    for (const [i, [magic, type]] of SWAP_MAGICS.entries()) {
      if (!hasBytes(h, page - 10, magic)) continue;
      const content: VolumeContent = { type, usage: 'other', offset: page - 10, facts: { pageSize: page } };
      // All but the old "SWAP-SPACE" (version 0) have the version 1 header.
      if (i !== 1) {
        content.version = String(new DataView(h.buffer, h.byteOffset).getUint32(Swap.version, true));
        if (!isAllZero(h.subarray(Swap.uuid, Swap.uuid + 16))) content.uuid = uuidString(h, Swap.uuid);
        content.label = cString(h, Swap.volume_name, 16) || undefined;
      } else content.version = '0';
      return content;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// ISO 9660: the primary volume descriptor at sector 16 (ECMA-119 §8.4).

const ISO_PVD = 32768;
const Pvd = { type: 0, id: 1, volume_id: 40, creation_date: 813 } as const;
const CD001 = asciiBytes('CD001');

function probeIso(h: Uint8Array): VolumeContent | undefined {
  if (h.length < ISO_PVD + 2048 || h[ISO_PVD + Pvd.type] !== 1 || !hasBytes(h, ISO_PVD + Pvd.id, CD001)) return undefined;
  const d = latin1(h, ISO_PVD + Pvd.creation_date, ISO_PVD + Pvd.creation_date + 16);
  const uuid = /^\d{16}$/.test(d) && d !== '0000000000000000' ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}-${d.slice(8, 10)}-${d.slice(10, 12)}-${d.slice(12, 14)}-${d.slice(14, 16)}` : undefined;
  return { type: 'iso9660', usage: 'filesystem', uuid, label: cString(h, ISO_PVD + Pvd.volume_id, 32) || undefined, offset: ISO_PVD + Pvd.id };
}

// ---------------------------------------------------------------------------------------------
// LUKS1/LUKS2 (big-endian; LUKS2 keeps a label at 24) and BitLocker.

const LUKS2_LABEL = 24;
const LUKS2_LABEL_LENGTH = 48;

function probeLuks(h: Uint8Array): VolumeContent | undefined {
  if (h.length < LuksHeader.LENGTH || !hasBytes(h, 0, LUKS_MAGIC)) return undefined;
  const version = new DataView(h.buffer, h.byteOffset).getUint16(LuksHeader.version);
  return {
    type: 'crypto_LUKS',
    usage: 'crypto',
    version: String(version),
    uuid: cString(h, LuksHeader.uuid, LuksHeader.UUID_LENGTH) || undefined,
    label: version === 2 ? cString(h, LUKS2_LABEL, LUKS2_LABEL_LENGTH) || undefined : undefined,
    offset: 0,
    problem: `a LUKS${version}-encrypted volume: diskprobe does not decrypt it`,
  };
}

const FVE_OEM = asciiBytes('-FVE-FS-');

function probeBitLocker(h: Uint8Array): VolumeContent | undefined {
  if (h.length < 512 || !hasBytes(h, 3, FVE_OEM)) return undefined;
  return { type: 'BitLocker', usage: 'crypto', offset: 3, problem: 'a BitLocker-encrypted volume: diskprobe does not decrypt it' };
}

// ---------------------------------------------------------------------------------------------
// Linux md RAID: superblock 1.1 at 0, 1.2 at 4 KiB, 1.0 near the end, 0.90 in the last 64 KiB.

const MD_MAGIC = 0xa92b4efc;
const Md1 = { magic: 0, major_version: 4, feature_map: 8, set_uuid: 16, set_name: 32, level: 72, layout: 76, size: 80, chunksize: 88, raid_disks: 92, data_offset: 128, data_size: 136, super_offset: 144, dev_number: 160, device_uuid: 168, LENGTH: 256 } as const;
const Md090 = { magic: 0, major_version: 4, minor_version: 8, set_uuid0: 20, level: 28, size: 32, raid_disks: 40, set_uuid1: 52, LENGTH: 64 } as const;
const MD_RESERVED_090 = 64 * 1024;

function mdLevel(level: number): string {
  return level === -1 ? 'linear' : level === -4 ? 'multipath' : level === -5 ? 'faulty' : `raid${level}`;
}

async function probeMd(ctx: Ctx): Promise<VolumeContent | undefined> {
  const size = ctx.dev.size;
  const candidates: [number, string][] = [
    [0, '1.1'],
    [4096, '1.2'],
  ];
  if (size >= 8192) candidates.push([Math.floor((size - 8192) / 4096) * 4096, '1.0']);
  for (const [at, version] of candidates) {
    const b = at + Md1.LENGTH <= ctx.head.length ? ctx.head.subarray(at, at + Md1.LENGTH) : await readMore(ctx, at, Md1.LENGTH);
    if (!b) continue;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (v.getUint32(Md1.magic, true) !== MD_MAGIC || v.getUint32(Md1.major_version, true) !== 1) continue;
    // A superblock records its own place (in sectors): a copy found elsewhere is a stale leftover.
    if (v.getUint32(Md1.super_offset + 4, true) !== 0 || v.getUint32(Md1.super_offset, true) * 512 !== at) continue;
    const level = v.getInt32(Md1.level, true);
    const dataOffset = v.getUint32(Md1.data_offset, true) * 512;
    // `size` is what each member gives the array (RAID1: the array's size); data_size may be larger.
    const used = v.getUint32(Md1.size, true) * 512;
    const available = v.getUint32(Md1.data_size, true) * 512;
    const dataSize = used > 0 && used <= available ? used : available;
    const hiOk = v.getUint32(Md1.data_offset + 4, true) === 0 && v.getUint32(Md1.data_size + 4, true) === 0 && v.getUint32(Md1.size + 4, true) === 0;
    return {
      type: 'linux_raid_member',
      usage: 'raid',
      version,
      uuid: uuidString(b, Md1.set_uuid),
      uuidSub: uuidString(b, Md1.device_uuid),
      label: cString(b, Md1.set_name, 32) || undefined,
      offset: at,
      facts: {
        level: mdLevel(level),
        raidDisks: v.getUint32(Md1.raid_disks, true),
        deviceNumber: v.getUint32(Md1.dev_number, true),
        dataOffset: hiOk ? dataOffset : undefined,
        dataSize: hiOk ? dataSize : undefined,
      },
      problem: `a member of a Linux md ${mdLevel(level)} array${level === 1 ? ' (its data can be read as a volume of its own)' : ': diskprobe does not assemble md arrays'}`,
    };
  }
  if (size >= MD_RESERVED_090 * 2) {
    const at = Math.floor(size / MD_RESERVED_090) * MD_RESERVED_090 - MD_RESERVED_090;
    const b = await readMore(ctx, at, Md090.LENGTH);
    if (b) {
      for (const little of [true, false]) {
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (v.getUint32(Md090.magic, little) !== MD_MAGIC || v.getUint32(Md090.major_version, little) !== 0) continue;
        // blkid shows the four 32-bit words of the set UUID as numbers, in the superblock's byte order.
        const words = [Md090.set_uuid0, Md090.set_uuid1, Md090.set_uuid1 + 4, Md090.set_uuid1 + 8].map((o) => v.getUint32(o, little).toString(16).padStart(8, '0')).join('');
        const uuid = `${words.slice(0, 8)}-${words.slice(8, 12)}-${words.slice(12, 16)}-${words.slice(16, 20)}-${words.slice(20)}`;
        const level = v.getInt32(Md090.level, little);
        return {
          type: 'linux_raid_member',
          usage: 'raid',
          version: `0.${v.getUint32(Md090.minor_version, little)}.0`,
          uuid,
          offset: at,
          // `size` is the component size in KiB: the array's size for RAID1.
          facts: { level: mdLevel(level), raidDisks: v.getUint32(Md090.raid_disks, little), dataOffset: 0, dataSize: Math.min(v.getUint32(Md090.size, little) * 1024, at), endian: little ? 'little' : 'big' },
          problem: `a member of a Linux md ${mdLevel(level)} array${level === 1 ? ' (its data can be read as a volume of its own)' : ': diskprobe does not assemble md arrays'}`,
        };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

function probeLvm(h: Uint8Array): VolumeContent | undefined {
  const label = findPvLabel(h);
  if (!label) return undefined;
  return { type: 'LVM2_member', usage: 'raid', version: 'LVM2 001', uuid: pvUuidString(label.pvUuid), offset: label.offset };
}

/** Windows dynamic disks keep their LDM private header ("PRIVHEAD") at LBA 6 on MBR disks. */
const PRIVHEAD = asciiBytes('PRIVHEAD');

function probeLdm(h: Uint8Array): VolumeContent | undefined {
  if (!hasBytes(h, 6 * 512, PRIVHEAD)) return undefined;
  return { type: 'ldm', usage: 'other', offset: 6 * 512, problem: 'a Windows dynamic disk (LDM): its volumes are described by the LDM database, which diskprobe does not read' };
}

/**
 * Says what `dev` holds. `head` may pass bytes already read from its start (at least
 * {@link CONTENT_HEAD_BYTES}, or the whole device if shorter).
 */
export async function probeContent(dev: BlockDevice, head?: Uint8Array, signal?: AbortSignal): Promise<VolumeContent> {
  const n = Math.min(CONTENT_HEAD_BYTES, dev.size);
  const h = head && head.length >= n ? head.subarray(0, n) : n > 0 ? await dev.read(0, n, signal) : new Uint8Array(0);
  const ctx: Ctx = { dev, head: h, signal, budget: 8 };
  // Order matters where signatures can coexist: LUKS and md before the filesystems a stale
  // superblock may still show; a filesystem boot sector before swap's magic deep in a page.
  const found =
    probeLuks(h) ??
    probeLvm(h) ??
    (await probeMd(ctx)) ??
    probeBitLocker(h) ??
    probeXfs(h) ??
    probeExt(h) ??
    probeBtrfs(h) ??
    (await probeNtfs(ctx)) ??
    (await probeExfat(ctx)) ??
    (await probeFat(ctx)) ??
    probeLdm(h) ??
    probeSwap(h) ??
    probeIso(h);
  if (found) return found;
  if (h.length > 0 && isAllZero(h)) return { type: 'zero', facts: { checkedBytes: h.length } };
  return { type: 'unknown' };
}
