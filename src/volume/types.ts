/**
 * The volume layer (DESIGN.md, "Volumes"): what sits between a disk and its filesystems.
 * A `Volume` is a `BlockDevice` — a slice of the disk, or an LVM logical volume mapped over
 * slices of its physical volumes — with the facts its table gives and what its first bytes hold.
 */
import type { BlockDevice } from '../device/types.js';
import type { Finding } from '../container/types.js';

/** Where a volume was found. */
export type VolumeScheme = 'mbr' | 'gpt' | 'lvm' | 'md' | 'none';

/** What a volume's first bytes hold, as `blkid` would say it. */
export interface VolumeContent {
  /**
   * blkid's TYPE names: `ext2`, `ext3`, `ext4`, `jbd`, `xfs`, `ntfs`, `vfat`, `exfat`, `btrfs`,
   * `swap`, `iso9660`, `crypto_LUKS`, `BitLocker`, `linux_raid_member`, `LVM2_member`,
   * `ldm` (Windows dynamic disk metadata), `zero` (all zeros where a signature would be), or
   * `unknown`.
   */
  type: string;
  /** blkid's USAGE: `filesystem`, `raid`, `crypto`, `other` (swap), or undefined when unknown. */
  usage?: 'filesystem' | 'raid' | 'crypto' | 'other';
  /** Format version (`FAT32`, `1.2`, `5` for XFS v5, `2` for LUKS2, …). */
  version?: string;
  /** The UUID (or serial number) as blkid formats it. */
  uuid?: string;
  /** The second UUID blkid reports as UUID_SUB (md member device UUID, btrfs device UUID). */
  uuidSub?: string;
  label?: string;
  /** Offset of the signature that identified the content, within the volume. */
  offset?: number;
  /** Format-specific facts read on the way (ext feature names, block size, md level, …). */
  facts?: Record<string, unknown>;
  /** Why the content cannot be opened by diskprobe (encrypted, RAID members, …). */
  problem?: string;
}

/** A partition, logical volume, RAID member's data or whole disk, readable as a device. */
export interface Volume extends BlockDevice {
  /**
   * A name that is unique in one layout: `p1`…`p4` for MBR primaries and `p5`… for logical
   * partitions (Linux's numbering), `p1`… for GPT entries by their index, `vg/lv` for
   * logical volumes, `md:<uuid>` for a RAID1 member's data, `disk` for a disk without a table.
   */
  readonly id: string;
  readonly scheme: VolumeScheme;
  /** The partition number Linux would give it (1-based), where there is one. */
  readonly index?: number;
  /** Byte offset in the device it was found on (a disk, or a partition for md); undefined for LVs. */
  readonly start?: number;
  /** The label of the device it was found on. */
  readonly parent: string;
  /**
   * The type as the table records it: an MBR type id (`0x83`), a GPT type GUID, an LVM
   * segment type (`linear`, `striped`, `thin`, …).
   */
  readonly type: string;
  /** The type's name (`Linux filesystem`, `EFI System`, `HPFS/NTFS/exFAT`), or `unknown`. */
  readonly typeName: string;
  /** GPT partition name, or the LV name. */
  readonly name?: string;
  /** GPT unique partition GUID, or the LV's UUID. */
  readonly uuid?: string;
  /** Table-specific facts: MBR boot indicator and CHS, GPT attribute bits, LV segments, … */
  readonly facts: Record<string, unknown>;
  /** What its first bytes hold. */
  readonly content: VolumeContent;
  /** What the table says about this volume that a user should hear (overlaps, out of range, …). */
  readonly findings: readonly Finding[];
  /** Why its bytes cannot be read (an LV needing a missing PV, a thin pool, …). Reads then throw. */
  readonly problem?: string;
}

/** The partition table of one disk, as read. */
export interface PartitionTable {
  scheme: 'mbr' | 'gpt' | 'none';
  /** Logical sector size the table was found with (512 or 4096). */
  sectorSize: number;
  /** MBR disk signature (`0x1234abcd`) or GPT disk GUID. */
  id?: string;
  /** MBR facts: protective or hybrid, boot code kind. GPT facts: header fields, backup state. */
  facts: Record<string, unknown>;
}

/** A volume group assembled from the physical volumes found. */
export interface VolumeGroupInfo {
  name: string;
  uuid: string;
  seqno: number;
  /** Extent size in bytes. */
  extentSize: number;
  /** Physical volumes the metadata names, and whether each was found. */
  pvs: { name: string; uuid: string; device?: string; found: boolean; peStart: number; peCount: number }[];
  /** The logical volumes, visible and hidden, with their segment types. */
  lvs: { name: string; uuid: string; visible: boolean; size: number; segmentTypes: string[]; problem?: string }[];
  /** Where the metadata copy used was read: device and byte offset. */
  metadataFrom: { device: string; offset: number };
}

/** Everything `readLayout` found on a set of disks. */
export interface VolumeLayout {
  /** One entry per disk, in the order given. */
  disks: { label: string; size: number; table: PartitionTable; content: VolumeContent }[];
  /** Every volume: partitions (or whole disks), then RAID member data, then logical volumes. */
  volumes: Volume[];
  volumeGroups: VolumeGroupInfo[];
  /** Findings about the tables and groups (each volume also carries its own). */
  findings: Finding[];
}
