/**
 * XFS on-disk structures, all big-endian (checksums are stored little-endian).
 *
 * Reference: "XFS Algorithms & Data Structures" (3rd edition, kernel.org xfs-documentation):
 * "Superblocks", "On-disk Inode", "Data Extents", "B+trees", "Directories", "Symbolic Links",
 * "Journaling Log", "Metadata Checksumming", "Timestamps"; field names as in xfs_format.h.
 */

export const XFS_SB_MAGIC = 0x58465342; // "XFSB"

/** `struct xfs_dsb` field offsets. */
export const Sb = {
  sb_magicnum: 0,
  sb_blocksize: 4,
  sb_dblocks: 8,
  sb_rblocks: 16,
  sb_uuid: 32,
  sb_logstart: 48,
  sb_rootino: 56,
  sb_agblocks: 84,
  sb_agcount: 88,
  sb_logblocks: 96,
  sb_versionnum: 100,
  sb_sectsize: 102,
  sb_inodesize: 104,
  sb_inopblock: 106,
  sb_fname: 108,
  sb_blocklog: 120,
  sb_sectlog: 121,
  sb_inodelog: 122,
  sb_inopblog: 123,
  sb_agblklog: 124,
  sb_inprogress: 126,
  sb_imax_pct: 127,
  sb_icount: 128,
  sb_ifree: 136,
  sb_fdblocks: 144,
  sb_dirblklog: 192,
  sb_logsectsize: 194,
  sb_features2: 200,
  sb_features_compat: 208,
  sb_features_ro_compat: 212,
  sb_features_incompat: 216,
  sb_features_log_incompat: 220,
  sb_crc: 224,
  sb_meta_uuid: 248,
  /** The CRC covers the superblock's sector. */
} as const;

/** sb_versionnum bits (the low nibble is the version). */
export const VERSION_BITS: readonly [number, string][] = [
  [0x10, 'attr'],
  [0x20, 'nlink'],
  [0x40, 'quota'],
  [0x80, 'align'],
  [0x100, 'dalign'],
  [0x200, 'shared'],
  [0x400, 'logv2'],
  [0x800, 'sector'],
  [0x1000, 'extflg'],
  [0x2000, 'dirv2'],
  [0x4000, 'asciici'],
  [0x8000, 'morebits'],
];
/** sb_features2 bits. */
export const FEATURES2_BITS: readonly [number, string][] = [
  [0x2, 'lazysbcount'],
  [0x8, 'attr2'],
  [0x10, 'parent'],
  [0x80, 'projid32bit'],
  [0x100, 'crc'],
  [0x200, 'ftype'],
];
export const Features2 = { FTYPE: 0x200 } as const;
/** v5 feature words. */
export const RO_COMPAT_BITS: readonly [number, string][] = [
  [0x1, 'finobt'],
  [0x2, 'rmapbt'],
  [0x4, 'reflink'],
  [0x8, 'inobtcount'],
];
export const INCOMPAT_BITS: readonly [number, string][] = [
  [0x1, 'ftype'],
  [0x2, 'sparse_inodes'],
  [0x4, 'meta_uuid'],
  [0x8, 'bigtime'],
  [0x10, 'needsrepair'],
  [0x20, 'nrext64'],
  [0x40, 'exchange'],
  [0x80, 'parent'],
  [0x100, 'metadir'],
];
export const LOG_INCOMPAT_BITS: readonly [number, string][] = [[0x1, 'logged_xattrs']];
export const Incompat = { FTYPE: 0x1, META_UUID: 0x4, BIGTIME: 0x8, NEEDSREPAIR: 0x10, NREXT64: 0x20, METADIR: 0x100 } as const;
/** Incompatible v5 features this reader handles. */
export const INCOMPAT_UNDERSTOOD = 0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x80;

export function bitNames(word: number, table: readonly [number, string][], prefix: string): string[] {
  const out: string[] = [];
  let known = 0;
  for (const [bit, name] of table) {
    known |= bit;
    if (word & bit) out.push(name);
  }
  for (let b = 0; b < 32; b++) if ((word >>> b) & 1 && !((known >>> b) & 1)) out.push(`${prefix}${b}`);
  return out;
}

/** `struct xfs_dinode` field offsets. The core is 100 bytes (v1/v2) or 176 (v3). */
export const Di = {
  di_magic: 0,
  di_mode: 2,
  di_version: 4,
  di_format: 5,
  di_onlink: 6,
  di_uid: 8,
  di_gid: 12,
  di_nlink: 16,
  di_big_nextents: 24,
  di_atime: 32,
  di_mtime: 40,
  di_ctime: 48,
  di_size: 56,
  di_nblocks: 64,
  di_nextents: 76,
  di_forkoff: 82,
  di_flags: 90,
  di_gen: 92,
  di_crc: 100,
  di_flags2: 120,
  di_crtime: 144,
  di_ino: 152,
  CORE_V2: 100,
  CORE_V3: 176,
  MAGIC: 0x494e, // "IN"
} as const;

/** di_format values. */
export const Format = { DEV: 0, LOCAL: 1, EXTENTS: 2, BTREE: 3 } as const;

/** di_flags, mapped to the names ext's flags use where the meaning is the same. */
export const DI_FLAG_NAMES: readonly [number, string][] = [
  [0x1, 'realtime'],
  [0x2, 'preallocated'],
  [0x4, 'new-realtime-bitmap'],
  [0x8, 'immutable'],
  [0x10, 'append-only'],
  [0x20, 'synchronous-updates'],
  [0x40, 'no-atime'],
  [0x80, 'no-dump'],
  [0x100, 'realtime-inherit'],
  [0x200, 'project-inherit'],
  [0x400, 'no-symlinks'],
  [0x800, 'extent-size-hint'],
  [0x1000, 'extent-size-inherit'],
  [0x2000, 'no-defrag'],
  [0x4000, 'filestream'],
];
export const DiFlag = { REALTIME: 0x1 } as const;
/** di_flags2 bits. */
export const DI_FLAG2_NAMES: readonly [number, string][] = [
  [0x1, 'dax'],
  [0x2, 'reflink'],
  [0x4, 'cow-extent-size-hint'],
  [0x8, 'bigtime'],
  [0x10, 'nrext64'],
];
export const DiFlag2 = { BIGTIME: 0x8, NREXT64: 0x10 } as const;

/** A bigtime timestamp counts nanoseconds from this many seconds before 1970 (S32_MIN). */
export const BIGTIME_EPOCH_OFFSET = 2 ** 31;

/** Long-format btree block (bmap) headers: "BMAP" (v4, 24 bytes) and "BMA3" (v5, 72 bytes, CRC at 64). */
export const Bt = { bb_magic: 0, bb_level: 4, bb_numrecs: 6, HDR_V4: 24, HDR_V5: 72, CRC_V5: 64, MAGIC_V4: 0x424d4150, MAGIC_V5: 0x424d4133 } as const;
/** The btree root in an inode fork (`xfs_bmdr_block`): level and record count, then keys and pointers. */
export const Bmdr = { bb_level: 0, bb_numrecs: 2, HDR: 4 } as const;
export const MAX_BTREE_LEVELS = 9;

/** Directory data blocks: "XD2B"/"XD2D" (v4, 16-byte header), "XDB3"/"XDD3" (v5, 64, CRC at 4). */
export const DirMagic = { BLOCK_V4: 0x58443242, DATA_V4: 0x58443244, BLOCK_V5: 0x58444233, DATA_V5: 0x58444433 } as const;
export const DIR_HDR_V4 = 16;
export const DIR_HDR_V5 = 64;
export const DIR_CRC_OFFSET = 4;
/** Directory data lives below this byte offset of the directory (leaf and free blocks above). */
export const DIR2_LEAF_OFFSET = 2 ** 35;
/** An unused entry starts with this tag. */
export const DIR2_FREE_TAG = 0xffff;

/** Remote symlink blocks (v5): "XSLM", offset, bytes, CRC, UUID, owner, block number, LSN. */
export const Symlink = { MAGIC: 0x58534c4d, HDR: 56, sl_offset: 4, sl_bytes: 8 } as const;

/** Log record header (`xlog_rec_header`) and operation header. */
export const Log = { MAGIC: 0xfeedbabe, h_cycle: 4, h_version: 8, h_len: 12, h_lsn: 16, h_tail_lsn: 24, h_num_logops: 40, h_size: 320, BB: 512, CYCLE_SIZE: 32768, OP_FLAGS: 9, UNMOUNT_TRANS: 0x20 } as const;

/** The AG free space header ("XAGF", in each AG's second sector); v5 CRC at 216. */
export const Agf = { agf_magicnum: 0, agf_seqno: 8, agf_length: 12, agf_flcount: 48, agf_freeblks: 52, agf_longest: 56, agf_btreeblks: 60, agf_crc: 216, MAGIC: 0x58414746 } as const;
/** The AG inode header ("XAGI", in each AG's third sector); v5 CRC at 312. */
export const Agi = { agi_magicnum: 0, agi_seqno: 8, agi_length: 12, agi_count: 16, agi_freecount: 28, agi_crc: 312, MAGIC: 0x58414749 } as const;
