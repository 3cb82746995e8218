/**
 * ext2/ext3/ext4 on-disk structures, all little-endian.
 *
 * Reference: the Linux kernel's Documentation/filesystems/ext4 ("The Super Block", "Block
 * Group Descriptors", "Index Nodes", "The Contents of inode.i_block", "Directory Entries",
 * "Extended Attributes", "Checksums"); feature and flag names as e2fsprogs' lib/e2p prints them.
 */

export const EXT_MAGIC = 0xef53;
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;

/** `struct ext4_super_block` field offsets. */
export const Sb = {
  s_inodes_count: 0x0,
  s_blocks_count_lo: 0x4,
  s_r_blocks_count_lo: 0x8,
  s_free_blocks_count_lo: 0xc,
  s_free_inodes_count: 0x10,
  s_first_data_block: 0x14,
  s_log_block_size: 0x18,
  s_log_cluster_size: 0x1c,
  s_blocks_per_group: 0x20,
  s_clusters_per_group: 0x24,
  s_inodes_per_group: 0x28,
  s_mtime: 0x2c,
  s_wtime: 0x30,
  s_mnt_count: 0x34,
  s_max_mnt_count: 0x36,
  s_magic: 0x38,
  s_state: 0x3a,
  s_errors: 0x3c,
  s_minor_rev_level: 0x3e,
  s_lastcheck: 0x40,
  s_checkinterval: 0x44,
  s_creator_os: 0x48,
  s_rev_level: 0x4c,
  s_def_resuid: 0x50,
  s_def_resgid: 0x52,
  s_first_ino: 0x54,
  s_inode_size: 0x58,
  s_block_group_nr: 0x5a,
  s_feature_compat: 0x5c,
  s_feature_incompat: 0x60,
  s_feature_ro_compat: 0x64,
  s_uuid: 0x68,
  s_volume_name: 0x78,
  s_last_mounted: 0x88,
  s_reserved_gdt_blocks: 0xce,
  s_journal_inum: 0xe0,
  s_last_orphan: 0xe8,
  s_hash_seed: 0xec,
  s_def_hash_version: 0xfc,
  s_desc_size: 0xfe,
  s_first_meta_bg: 0x104,
  s_mkfs_time: 0x108,
  s_blocks_count_hi: 0x150,
  s_r_blocks_count_hi: 0x154,
  s_free_blocks_count_hi: 0x158,
  s_min_extra_isize: 0x15c,
  s_flags: 0x160,
  s_log_groups_per_flex: 0x174,
  s_checksum_type: 0x175,
  s_kbytes_written: 0x178,
  s_backup_bgs: 0x24c,
  s_checksum_seed: 0x270,
  s_wtime_hi: 0x274,
  s_mtime_hi: 0x275,
  s_mkfs_time_hi: 0x276,
  s_checksum: 0x3fc,
} as const;

/** s_state bits. */
export const State = { VALID: 0x1, ERROR: 0x2, ORPHAN: 0x4 } as const;

export const Compat = {
  DIR_PREALLOC: 0x1,
  IMAGIC_INODES: 0x2,
  HAS_JOURNAL: 0x4,
  EXT_ATTR: 0x8,
  RESIZE_INODE: 0x10,
  DIR_INDEX: 0x20,
  SPARSE_SUPER2: 0x200,
} as const;
export const Incompat = {
  COMPRESSION: 0x1,
  FILETYPE: 0x2,
  RECOVER: 0x4,
  JOURNAL_DEV: 0x8,
  META_BG: 0x10,
  EXTENTS: 0x40,
  BIT64: 0x80,
  MMP: 0x100,
  FLEX_BG: 0x200,
  EA_INODE: 0x400,
  DIRDATA: 0x1000,
  CSUM_SEED: 0x2000,
  LARGEDIR: 0x4000,
  INLINE_DATA: 0x8000,
  ENCRYPT: 0x10000,
  CASEFOLD: 0x20000,
} as const;
export const RoCompat = {
  SPARSE_SUPER: 0x1,
  LARGE_FILE: 0x2,
  HUGE_FILE: 0x8,
  GDT_CSUM: 0x10,
  METADATA_CSUM: 0x400,
} as const;

/** Feature names, bit by bit, as dumpe2fs prints them. */
export const COMPAT_NAMES: Readonly<Record<number, string>> = {
  0x1: 'dir_prealloc',
  0x2: 'imagic_inodes',
  0x4: 'has_journal',
  0x8: 'ext_attr',
  0x10: 'resize_inode',
  0x20: 'dir_index',
  0x40: 'lazy_bg',
  0x80: 'snapshot_bitmap',
  0x100: 'exclude_bitmap',
  0x200: 'sparse_super2',
  0x400: 'fast_commit',
  0x800: 'stable_inodes',
  0x1000: 'orphan_file',
};
export const INCOMPAT_NAMES: Readonly<Record<number, string>> = {
  0x1: 'compression',
  0x2: 'filetype',
  0x4: 'needs_recovery',
  0x8: 'journal_dev',
  0x10: 'meta_bg',
  0x40: 'extent',
  0x80: '64bit',
  0x100: 'mmp',
  0x200: 'flex_bg',
  0x400: 'ea_inode',
  0x1000: 'dirdata',
  0x2000: 'metadata_csum_seed',
  0x4000: 'large_dir',
  0x8000: 'inline_data',
  0x10000: 'encrypt',
  0x20000: 'casefold',
};
export const RO_COMPAT_NAMES: Readonly<Record<number, string>> = {
  0x1: 'sparse_super',
  0x2: 'large_file',
  0x4: 'btree_dir',
  0x8: 'huge_file',
  0x10: 'uninit_bg',
  0x20: 'dir_nlink',
  0x40: 'extra_isize',
  0x80: 'snapshot',
  0x100: 'quota',
  0x200: 'bigalloc',
  0x400: 'metadata_csum',
  0x800: 'replica',
  0x1000: 'read-only',
  0x2000: 'project',
  0x4000: 'shared_blocks',
  0x8000: 'verity',
  0x10000: 'orphan_present',
};
/** Incompatible features this reader handles; any other refuses the filesystem. */
export const INCOMPAT_UNDERSTOOD =
  Incompat.FILETYPE | Incompat.RECOVER | Incompat.META_BG | Incompat.EXTENTS | Incompat.BIT64 | Incompat.MMP | Incompat.FLEX_BG | Incompat.CSUM_SEED | Incompat.LARGEDIR | Incompat.INLINE_DATA | Incompat.EA_INODE;

/**
 * Feature names as dumpe2fs lists them (e2p's print_features): compat, incompat, then
 * ro_compat bits, each in bit order; bits e2p does not name as FEATURE_C12, FEATURE_I31, ….
 */
export function featureNames(compat: number, incompat: number, roCompat: number): string[] {
  const out: string[] = [];
  const sets = [compat, incompat, roCompat];
  const tables = [COMPAT_NAMES, INCOMPAT_NAMES, RO_COMPAT_NAMES];
  for (let k = 0; k < 3; k++) {
    for (let b = 0; b < 32; b++) {
      if (((sets[k]! >>> b) & 1) === 0) continue;
      out.push(tables[k]![2 ** b] ?? `FEATURE_${'CIR'[k]}${b}`);
    }
  }
  return out;
}

/** `struct ext4_group_desc` field offsets (the `_hi` halves only in 64-byte descriptors). */
export const Gd = {
  bg_block_bitmap_lo: 0x0,
  bg_inode_bitmap_lo: 0x4,
  bg_inode_table_lo: 0x8,
  bg_free_blocks_count_lo: 0xc,
  bg_free_inodes_count_lo: 0xe,
  bg_used_dirs_count_lo: 0x10,
  bg_flags: 0x12,
  bg_checksum: 0x1e,
  bg_inode_table_hi: 0x28,
  MIN_SIZE: 32,
  SIZE_64: 64,
} as const;

/** `struct ext4_inode` field offsets; `osd2` is Linux's. */
export const In = {
  i_mode: 0x0,
  i_uid: 0x2,
  i_size_lo: 0x4,
  i_atime: 0x8,
  i_ctime: 0xc,
  i_mtime: 0x10,
  i_dtime: 0x14,
  i_gid: 0x18,
  i_links_count: 0x1a,
  i_blocks_lo: 0x1c,
  i_flags: 0x20,
  i_block: 0x28,
  I_BLOCK_SIZE: 60,
  i_generation: 0x64,
  i_file_acl_lo: 0x68,
  i_size_high: 0x6c,
  l_i_blocks_high: 0x74,
  l_i_file_acl_high: 0x76,
  l_i_uid_high: 0x78,
  l_i_gid_high: 0x7a,
  l_i_checksum_lo: 0x7c,
  GOOD_OLD_SIZE: 128,
  i_extra_isize: 0x80,
  i_checksum_hi: 0x82,
  i_ctime_extra: 0x84,
  i_mtime_extra: 0x88,
  i_atime_extra: 0x8c,
  i_crtime: 0x90,
  i_crtime_extra: 0x94,
} as const;

/** i_flags bits, named as chattr(1) names them (the internal ones by their kernel names). */
export const INODE_FLAG_NAMES: readonly [number, string][] = [
  [0x1, 'secure-deletion'],
  [0x2, 'undelete'],
  [0x4, 'compressed'],
  [0x8, 'synchronous-updates'],
  [0x10, 'immutable'],
  [0x20, 'append-only'],
  [0x40, 'no-dump'],
  [0x80, 'no-atime'],
  [0x100, 'dirty'],
  [0x200, 'compressed-blocks'],
  [0x400, 'no-compression'],
  [0x800, 'encrypted'],
  [0x1000, 'indexed-directory'],
  [0x2000, 'imagic'],
  [0x4000, 'journaled-data'],
  [0x8000, 'no-tail-merging'],
  [0x10000, 'synchronous-directory-updates'],
  [0x20000, 'top-of-directory-hierarchy'],
  [0x40000, 'huge-file'],
  [0x80000, 'extents'],
  [0x100000, 'verity'],
  [0x200000, 'ea-inode'],
  [0x2000000, 'dax'],
  [0x10000000, 'inline-data'],
  [0x20000000, 'project-inherit'],
  [0x40000000, 'casefold'],
];
export const InodeFlag = { INDEX: 0x1000, HUGE_FILE: 0x40000, EXTENTS: 0x80000, EA_INODE: 0x200000, INLINE_DATA: 0x10000000 } as const;

export function inodeFlagNames(flags: number): string[] {
  const out: string[] = [];
  let known = 0;
  for (const [bit, name] of INODE_FLAG_NAMES) {
    known |= bit;
    if (flags & bit) out.push(name);
  }
  for (let b = 0; b < 32; b++) if ((flags >>> b) & 1 && !((known >>> b) & 1)) out.push(`flag-0x${(2 ** b).toString(16)}`);
  return out;
}

/** `struct ext4_extent_header`, `ext4_extent` and `ext4_extent_idx` (12 bytes each). */
export const Eh = { eh_magic: 0, eh_entries: 2, eh_max: 4, eh_depth: 6, SIZE: 12, MAGIC: 0xf30a, MAX_DEPTH: 5 } as const;
export const Ee = { ee_block: 0, ee_len: 4, ee_start_hi: 6, ee_start_lo: 8, SIZE: 12, INIT_MAX_LEN: 32768 } as const;
export const Ei = { ei_block: 0, ei_leaf_lo: 4, ei_leaf_hi: 8 } as const;

/** `struct ext4_dir_entry_2`. */
export const De = { inode: 0, rec_len: 4, name_len: 6, file_type: 7, NAME: 8 } as const;

/** In-inode extended attributes: a magic, then entries (`struct ext4_xattr_entry`). */
export const XATTR_MAGIC = 0xea020000;
export const Xe = { e_name_len: 0, e_name_index: 1, e_value_offs: 2, e_value_inum: 4, e_value_size: 8, e_hash: 12, NAME: 16 } as const;
/** The `system.` namespace index, under which inline data is `system.data`. */
export const XATTR_INDEX_SYSTEM = 7;
