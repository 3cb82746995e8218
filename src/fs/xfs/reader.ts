/**
 * An XFS reader (structures: layout.ts): v4 and v5 superblocks with every feature bit named;
 * inodes v1, v2 and v3 with bigtime and nrext64; data forks in local, extents and btree format
 * (any depth); unwritten extents read as zeros; directories in shortform, block, leaf, node and
 * btree form (read as their data blocks), with and without ftype; local and remote symlinks.
 * v5 metadata read (superblock, inodes, btree blocks, directory and symlink blocks) has its
 * CRC32C checked; mismatches are findings. The log is not replayed: whether it is clean is
 * worked out as the kernel does (find the head by cycle numbers, look at the last record) and
 * a dirty log is a finding. Realtime files are named and refused; extended attributes are not
 * read. Nothing is written.
 */
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode } from '../../errors.js';
import { copyBytes, cString, uuidString } from '../../util/bytes.js';
import { crc32c } from '../../util/crc32c.js';
import { Lru } from '../../util/lru.js';
import { fileTypeOfMode, InodeFileSystem, metadataCache } from '../inode-fs.js';
import type { Tree } from '../path.js';
import type { DirEntry, FileType, FsStats, Stats, Timestamp } from '../types.js';
import {
  Agf,
  Agi,
  BIGTIME_EPOCH_OFFSET,
  bitNames,
  Bmdr,
  Bt,
  Di,
  DI_FLAG2_NAMES,
  DI_FLAG_NAMES,
  DiFlag,
  DiFlag2,
  DIR2_FREE_TAG,
  DIR2_LEAF_OFFSET,
  DIR_CRC_OFFSET,
  DIR_HDR_V4,
  DIR_HDR_V5,
  DirMagic,
  FEATURES2_BITS,
  Features2,
  Format,
  Incompat,
  INCOMPAT_BITS,
  INCOMPAT_UNDERSTOOD,
  Log,
  LOG_INCOMPAT_BITS,
  MAX_BTREE_LEVELS,
  RO_COMPAT_BITS,
  Sb,
  Symlink,
  VERSION_BITS,
  XFS_SB_MAGIC,
} from './layout.js';

/** Extents kept for one file, and btree blocks read for one file. */
export const MAX_EXTENTS = 1 << 22;
export const MAX_BTREE_BLOCKS = 1 << 16;
/** Log blocks looked at behind the head for the last record (a record is at most 256 KiB). */
const LOG_SCAN_BBS = 1024;

const TYPE_OF_FTYPE: Record<number, FileType> = { 1: 'file', 2: 'directory', 3: 'char', 4: 'block', 5: 'fifo', 6: 'socket', 7: 'symlink' };
const typeOf = fileTypeOfMode;

/** A big-endian 64-bit field, or Infinity past 2^53. */
function be64(v: DataView, at: number): number {
  const hi = v.getUint32(at);
  return hi >= 0x200000 ? Infinity : hi * 0x1_0000_0000 + v.getUint32(at + 4);
}

interface Super {
  raw: Uint8Array;
  v5: boolean;
  blockSize: number;
  blockLog: number;
  dblocks: number;
  agblocks: number;
  agcount: number;
  agblkLog: number;
  inodeSize: number;
  inopbLog: number;
  rootIno: number;
  dirBlockSize: number;
  ftype: boolean;
  versionnum: number;
  features2: number;
  roCompat: number;
  incompat: number;
  logIncompat: number;
  logStart: number;
  logBlocks: number;
}

/** An inode, decoded. */
interface Inode {
  ino: number;
  mode: number;
  version: number;
  format: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  nblocks: number;
  nextents: number;
  flags: number;
  flags2: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
  crtime?: Timestamp;
  /** The data fork's bytes. */
  fork: Uint8Array;
}

/** `count` file blocks from `offset`, at fs block `start` (linear block number); `unwritten` reads as zeros. */
interface Extent {
  offset: number;
  start: number;
  count: number;
  unwritten: boolean;
}

export class XfsFileSystem extends InodeFileSystem<Inode> {
  readonly type = 'xfs';
  protected readonly format = 'xfs';
  private readonly meta: BlockDevice;
  private readonly inodes = new Lru<number, Inode>(4096);
  private readonly dirs = new Lru<number, Map<string, DirEntry>>(200_000);
  private readonly extentCache = new Lru<number, Promise<Extent[]>>(256);
  protected readonly tree: Tree<Inode>;
  private logClean: { clean: boolean; why: string } | undefined;

  private constructor(
    private readonly dev: BlockDevice,
    private readonly sb: Super,
  ) {
    super(dev.label);
    this.meta = metadataCache(dev, sb.blockSize);
    this.tree = {
      root: () => this.inode(sb.rootIno),
      lookup: async (dir, name) => {
        const e = (await this.entries(dir)).get(name);
        return e ? this.inode(e.ino) : undefined;
      },
      isDirectory: (n) => typeOf(n.mode) === 'directory',
      isSymlink: (n) => typeOf(n.mode) === 'symlink',
      readlink: (n) => this.linkTarget(n),
    };
  }

  private where(structure: string, offset?: number, field?: string) {
    return { layer: 'fs' as const, format: 'xfs', device: this.dev.label, structure, offset, field };
  }

  /** Checks a v5 structure's CRC32C (stored little-endian at `crcAt`, computed with it zeroed). */
  private checkCrc(bytes: Uint8Array, crcAt: number, code: string, what: string, offset: number): void {
    const copy = copyBytes(bytes);
    const want = new DataView(copy.buffer).getUint32(crcAt, true);
    copy.fill(0, crcAt, crcAt + 4);
    const got = crc32c(copy);
    if (got !== want) this.note(code, `${what} checksum is 0x${want.toString(16)}, computed 0x${got.toString(16)}`, offset);
  }

  // -------------------------------------------------------------------------------------------
  // Opening

  static async open(dev: BlockDevice, signal?: AbortSignal): Promise<XfsFileSystem> {
    const w = (field: string, value: unknown, expected: string) => ({ layer: 'fs' as const, format: 'xfs', device: dev.label, structure: 'xfs_dsb', field, offset: 0, value, expected });
    if (dev.size < 512) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the device ends before the superblock', { layer: 'fs', format: 'xfs', device: dev.label, structure: 'xfs_dsb' });
    const head = await dev.read(0, Math.min(dev.size, 4096), signal);
    const v0 = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (v0.getUint32(Sb.sb_magicnum) !== XFS_SB_MAGIC) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no XFS superblock magic', w('sb_magicnum', v0.getUint32(0), '"XFSB"'));
    const sectSize = v0.getUint16(Sb.sb_sectsize);
    if (sectSize < 512 || sectSize > 32768 || (sectSize & (sectSize - 1)) !== 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'sector size out of range', w('sb_sectsize', sectSize, '512..32768, a power of two'));
    const raw = copyBytes(sectSize <= head.length ? head.subarray(0, sectSize) : await dev.read(0, sectSize, signal));
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const versionnum = v.getUint16(Sb.sb_versionnum);
    const version = versionnum & 0xf;
    if (version !== 4 && version !== 5) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `XFS version ${version} (only v4 and v5 exist)`, w('sb_versionnum', versionnum, 'version 4 or 5'));
    const blockSize = v.getUint32(Sb.sb_blocksize);
    const blockLog = raw[Sb.sb_blocklog]!;
    if (blockSize !== 2 ** blockLog || blockLog < 9 || blockLog > 16) throw new DiskProbeError(ErrorCode.CORRUPT, 'block size out of range or disagrees with sb_blocklog', w('sb_blocksize', blockSize, '512..65536, 2^sb_blocklog'));
    const inodeSize = v.getUint16(Sb.sb_inodesize);
    const inodeLog = raw[Sb.sb_inodelog]!;
    if (inodeSize !== 2 ** inodeLog || inodeSize < 256 || inodeSize > 2048 || inodeSize > blockSize) throw new DiskProbeError(ErrorCode.CORRUPT, 'inode size out of range', w('sb_inodesize', inodeSize, '256..2048, 2^sb_inodelog, at most a block'));
    const inopbLog = raw[Sb.sb_inopblog]!;
    if (2 ** inopbLog !== blockSize / inodeSize) throw new DiskProbeError(ErrorCode.CORRUPT, 'inodes per block disagree with the sizes', w('sb_inopblog', inopbLog, `${Math.log2(blockSize / inodeSize)}`));
    const agblocks = v.getUint32(Sb.sb_agblocks);
    const agcount = v.getUint32(Sb.sb_agcount);
    const agblkLog = raw[Sb.sb_agblklog]!;
    const dblocks = be64(v, Sb.sb_dblocks);
    if (agblocks < 16 || agblkLog > 31 || 2 ** agblkLog < agblocks || 2 ** (agblkLog - 1) >= agblocks) throw new DiskProbeError(ErrorCode.CORRUPT, 'AG size disagrees with sb_agblklog', w('sb_agblocks', agblocks, `2^(${agblkLog}-1) < agblocks <= 2^${agblkLog}`));
    if (!Number.isSafeInteger(dblocks) || agcount < 1 || dblocks > agcount * agblocks || dblocks <= (agcount - 1) * agblocks) {
      throw new DiskProbeError(ErrorCode.CORRUPT, 'AG count disagrees with the filesystem size', w('sb_agcount', agcount, `ceil(${dblocks} / ${agblocks})`));
    }
    const dirBlockLog = raw[Sb.sb_dirblklog]!;
    if (blockLog + dirBlockLog > 16) throw new DiskProbeError(ErrorCode.CORRUPT, 'directory block size past 64 KiB', w('sb_dirblklog', dirBlockLog, `<= ${16 - blockLog}`));
    const v5 = version === 5;
    const incompat = v5 ? v.getUint32(Sb.sb_features_incompat) : 0;
    const unknown = incompat & ~INCOMPAT_UNDERSTOOD;
    if (unknown) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `uses incompatible features diskprobe does not read: ${bitNames(unknown, INCOMPAT_BITS, 'incompat_bit').join(', ')}`, w('sb_features_incompat', `0x${incompat.toString(16)}`, 'understood features'));
    const features2 = v.getUint32(Sb.sb_features2);
    const sb: Super = {
      raw,
      v5,
      blockSize,
      blockLog,
      dblocks,
      agblocks,
      agcount,
      agblkLog,
      inodeSize,
      inopbLog,
      rootIno: be64(v, Sb.sb_rootino),
      dirBlockSize: blockSize << dirBlockLog,
      ftype: v5 ? (incompat & Incompat.FTYPE) !== 0 : (features2 & Features2.FTYPE) !== 0,
      versionnum,
      features2,
      roCompat: v5 ? v.getUint32(Sb.sb_features_ro_compat) : 0,
      incompat,
      logIncompat: v5 ? v.getUint32(Sb.sb_features_log_incompat) : 0,
      logStart: be64(v, Sb.sb_logstart),
      logBlocks: v.getUint32(Sb.sb_logblocks),
    };
    const fs = new XfsFileSystem(dev, sb);
    if (v5) fs.checkCrc(raw, Sb.sb_crc, 'xfs.superblock-checksum', 'superblock', Sb.sb_crc);
    if (raw[Sb.sb_inprogress]) fs.findings.push({ severity: 'warning', code: 'xfs.mkfs-in-progress', message: 'sb_inprogress is set: mkfs.xfs did not finish', offset: Sb.sb_inprogress });
    if (incompat & Incompat.NEEDSREPAIR) fs.findings.push({ severity: 'warning', code: 'xfs.needs-repair', message: 'the needsrepair feature is set: xfs_repair must run before the kernel mounts it', offset: Sb.sb_features_incompat });
    const log = await fs.logState(signal);
    fs.logClean = log;
    if (!log.clean) fs.findings.push({ severity: 'warning', code: 'xfs.log-dirty', message: `the log is not clean (${log.why}): the filesystem was not cleanly unmounted, and what is read may miss its last changes`, offset: sb.logStart * blockSize });
    return fs;
  }

  // -------------------------------------------------------------------------------------------
  // Addresses

  /** A filesystem block number (AG number in the high bits) as a linear block number. */
  private linear(fsb: number): number {
    const ag = Math.floor(fsb / 2 ** this.sb.agblkLog);
    const agb = fsb - ag * 2 ** this.sb.agblkLog;
    if (ag >= this.sb.agcount || agb >= this.sb.agblocks) throw new DiskProbeError(ErrorCode.CORRUPT, `block ${fsb} lies outside every AG`, this.where('fsblock'));
    return ag * this.sb.agblocks + agb;
  }

  // -------------------------------------------------------------------------------------------
  // The log (not replayed: only whether it is clean)

  /**
   * Whether the internal log ends with an unmount record, as the kernel's xlog_find_tail finds
   * out: each 512-byte log block starts with its cycle number (a record header holds it in
   * h_cycle); the head is where the cycle drops; the log is clean when the last record before
   * the head is an unmount record.
   */
  private async logState(signal?: AbortSignal): Promise<{ clean: boolean; why: string }> {
    const sb = this.sb;
    if (sb.logStart === 0) return { clean: true, why: 'external log: not looked at' };
    const start = this.linear(sb.logStart) * sb.blockSize;
    const bbs = (sb.logBlocks * sb.blockSize) / Log.BB;
    if (start + bbs * Log.BB > this.dev.size || bbs < 2) return { clean: false, why: 'the log lies past the end of the device' };
    const cycleAt = async (bb: number) => {
      const b = await this.meta.read(start + bb * Log.BB, 8, signal);
      const v = new DataView(b.buffer, b.byteOffset, 8);
      return v.getUint32(0) === Log.MAGIC ? v.getUint32(4) : v.getUint32(0);
    };
    const first = await cycleAt(0);
    const last = await cycleAt(bbs - 1);
    let head: number;
    if (first === last) head = bbs;
    else {
      // Binary search for the first block written in the older cycle (last's).
      let lo = 0;
      let hi = bbs - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((await cycleAt(mid)) === first) lo = mid;
        else hi = mid;
      }
      head = hi;
    }
    // The last record header before the head (the log wraps).
    const window = Math.min(LOG_SCAN_BBS, bbs);
    for (let i = 1; i <= window; i++) {
      const bb = (((head - i) % bbs) + bbs) % bbs;
      const b = await this.meta.read(start + bb * Log.BB, Log.BB, signal);
      const v = new DataView(b.buffer, b.byteOffset, Log.BB);
      if (v.getUint32(0) !== Log.MAGIC) continue;
      const lsnHi = v.getUint32(Log.h_lsn);
      const lsnLo = v.getUint32(Log.h_lsn + 4);
      const version = v.getUint32(Log.h_version);
      const hsize = version >= 2 ? v.getUint32(Log.h_size) : Log.CYCLE_SIZE;
      const headerBBs = version >= 2 && hsize > Log.CYCLE_SIZE ? Math.ceil(hsize / Log.CYCLE_SIZE) : 1;
      const data = await this.meta.read(start + ((bb + headerBBs) % bbs) * Log.BB, Log.BB, signal);
      const unmount = (data[Log.OP_FLAGS]! & Log.UNMOUNT_TRANS) !== 0;
      if (!unmount) return { clean: false, why: `the last log record (LSN ${lsnHi}/${lsnLo}) is not an unmount record` };
      return { clean: true, why: `the log ends with an unmount record (LSN ${lsnHi}/${lsnLo})` };
    }
    return { clean: false, why: 'no log record found before the head' };
  }

  // -------------------------------------------------------------------------------------------
  // Inodes

  private timeOf(v: DataView, at: number, bigtime: boolean): Timestamp {
    if (!bigtime) return { sec: v.getInt32(at), nsec: v.getUint32(at + 4) };
    const ns = (BigInt(v.getUint32(at)) << 32n) | BigInt(v.getUint32(at + 4));
    return { sec: Number(ns / 1_000_000_000n) - BIGTIME_EPOCH_OFFSET, nsec: Number(ns % 1_000_000_000n) };
  }

  private async inode(ino: number): Promise<Inode> {
    const hit = this.inodes.get(ino);
    if (hit) return hit;
    const sb = this.sb;
    const agShift = sb.agblkLog + sb.inopbLog;
    const ag = Math.floor(ino / 2 ** agShift);
    const agino = ino - ag * 2 ** agShift;
    const agbno = Math.floor(agino / 2 ** sb.inopbLog);
    const index = agino - agbno * 2 ** sb.inopbLog;
    if (!Number.isSafeInteger(ino) || ino < 1 || ag >= sb.agcount || agbno >= sb.agblocks) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `inode number ${ino} lies outside every AG`, this.where('xfs_dinode', undefined, 'inode number'));
    }
    const at = (ag * sb.agblocks + agbno) * sb.blockSize + index * sb.inodeSize;
    if (at + sb.inodeSize > this.dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${ino} lies past the end of the device`, this.where('xfs_dinode', at));
    const raw = copyBytes(await this.meta.read(at, sb.inodeSize));
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (v.getUint16(Di.di_magic) !== Di.MAGIC) throw new DiskProbeError(ErrorCode.BAD_MAGIC, `inode ${ino} has no "IN" magic`, { ...this.where('xfs_dinode', at, 'di_magic'), value: v.getUint16(0) });
    const version = raw[Di.di_version]!;
    if (version < 1 || version > 3 || (sb.v5 && version !== 3)) throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${ino} has version ${version}`, { ...this.where('xfs_dinode', at + Di.di_version, 'di_version'), expected: sb.v5 ? '3' : '1 or 2' });
    if (version === 3) {
      this.checkCrc(raw, Di.di_crc, 'xfs.inode-checksum', `inode ${ino}'s`, at);
      if (be64(v, Di.di_ino) !== ino) this.note('xfs.inode-number', `inode at ${at} says it is inode ${be64(v, Di.di_ino)}, not ${ino}`, at);
    }
    const core = version === 3 ? Di.CORE_V3 : Di.CORE_V2;
    const forkoff = raw[Di.di_forkoff]! * 8;
    const forkEnd = forkoff ? core + forkoff : sb.inodeSize;
    if (forkEnd > sb.inodeSize) throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${ino}'s attribute fork offset lies past the inode`, this.where('xfs_dinode', at + Di.di_forkoff, 'di_forkoff'));
    const flags2 = version === 3 ? be64(v, Di.di_flags2) : 0;
    const bigtime = (flags2 & DiFlag2.BIGTIME) !== 0;
    const nextents = flags2 & DiFlag2.NREXT64 ? be64(v, Di.di_big_nextents) : v.getUint32(Di.di_nextents);
    const node: Inode = {
      ino,
      mode: v.getUint16(Di.di_mode),
      version,
      format: raw[Di.di_format]!,
      uid: v.getUint32(Di.di_uid),
      gid: v.getUint32(Di.di_gid),
      nlink: version === 1 ? v.getUint16(Di.di_onlink) : v.getUint32(Di.di_nlink),
      size: be64(v, Di.di_size),
      nblocks: be64(v, Di.di_nblocks),
      nextents,
      flags: v.getUint16(Di.di_flags),
      flags2,
      atime: this.timeOf(v, Di.di_atime, bigtime),
      mtime: this.timeOf(v, Di.di_mtime, bigtime),
      ctime: this.timeOf(v, Di.di_ctime, bigtime),
      crtime: version === 3 ? this.timeOf(v, Di.di_crtime, bigtime) : undefined,
      fork: raw.subarray(core, forkEnd),
    };
    if (!Number.isSafeInteger(node.size)) throw new DiskProbeError(ErrorCode.LIMIT, `inode ${ino}'s size does not fit in 2^53`, this.where('xfs_dinode', at + Di.di_size, 'di_size'));
    this.inodes.set(ino, node);
    return node;
  }

  // -------------------------------------------------------------------------------------------
  // Data forks

  /** Decodes `n` packed 128-bit extent records at `at` of `b`. */
  private decodeExtents(b: Uint8Array, at: number, n: number, out: Extent[]): void {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (at + n * 16 > b.length) throw new DiskProbeError(ErrorCode.CORRUPT, `${n} extent records do not fit their block`, this.where('xfs_bmbt_rec'));
    for (let i = 0; i < n; i++) {
      const o = at + i * 16;
      const w0 = v.getUint32(o);
      const w1 = v.getUint32(o + 4);
      const w2 = v.getUint32(o + 8);
      const w3 = v.getUint32(o + 12);
      const count = w3 & 0x1fffff;
      if (count === 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'an extent of length 0', this.where('xfs_bmbt_rec', undefined, 'br_blockcount'));
      const offset = (w0 & 0x7fffffff) * 2 ** 23 + (w1 >>> 9);
      const fsb = (w1 & 0x1ff) * 2 ** 43 + w2 * 2 ** 11 + (w3 >>> 21);
      if (!Number.isSafeInteger(fsb)) throw new DiskProbeError(ErrorCode.CORRUPT, 'extent start does not fit', this.where('xfs_bmbt_rec', undefined, 'br_startblock'));
      const start = this.linear(fsb);
      if (start + count > this.sb.dblocks) throw new DiskProbeError(ErrorCode.CORRUPT, `extent of ${count} blocks at ${start} runs past the filesystem`, this.where('xfs_bmbt_rec', undefined, 'br_blockcount'));
      if (out.length >= MAX_EXTENTS) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_EXTENTS} extents in one file`, this.where('xfs_bmbt_rec'));
      out.push({ offset, start, count, unwritten: w0 >>> 31 === 1 });
    }
  }

  private extents(node: Inode): Promise<Extent[]> {
    return this.extentCache.memo(node.ino, () => this.loadExtents(node));
  }

  private async loadExtents(node: Inode): Promise<Extent[]> {
    const out: Extent[] = [];
    if (node.flags & DiFlag.REALTIME) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `inode ${node.ino} is a realtime file: its data lives on the realtime device, which diskprobe does not read`, this.where('xfs_dinode', undefined, 'di_flags'));
    if (node.format === Format.EXTENTS) {
      if (node.nextents * 16 > node.fork.length) throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${node.ino} says ${node.nextents} extents, its fork holds ${node.fork.length / 16}`, this.where('xfs_dinode', undefined, 'di_nextents'));
      this.decodeExtents(node.fork, 0, node.nextents, out);
    } else if (node.format === Format.BTREE) {
      const f = new DataView(node.fork.buffer, node.fork.byteOffset, node.fork.byteLength);
      const level = f.getUint16(Bmdr.bb_level);
      const numrecs = f.getUint16(Bmdr.bb_numrecs);
      const maxrecs = Math.floor((node.fork.length - Bmdr.HDR) / 16);
      if (level < 1 || level > MAX_BTREE_LEVELS || numrecs > maxrecs) throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${node.ino}'s btree root has level ${level} and ${numrecs} records (room for ${maxrecs})`, this.where('xfs_bmdr_block'));
      let blocks = 0;
      const walk = async (fsb: number, level: number): Promise<void> => {
        if (++blocks > MAX_BTREE_BLOCKS) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_BTREE_BLOCKS} btree blocks in one file`, this.where('xfs_btree_block'));
        const at = this.linear(fsb) * this.sb.blockSize;
        const b = await this.meta.read(at, this.sb.blockSize);
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const magic = v.getUint32(Bt.bb_magic);
        if (magic !== (this.sb.v5 ? Bt.MAGIC_V5 : Bt.MAGIC_V4)) throw new DiskProbeError(ErrorCode.BAD_MAGIC, `bmap btree block has magic 0x${magic.toString(16)}`, this.where('xfs_btree_block', at, 'bb_magic'));
        if (this.sb.v5) this.checkCrc(b, Bt.CRC_V5, 'xfs.btree-checksum', 'bmap btree block', at);
        const blockLevel = v.getUint16(Bt.bb_level);
        if (blockLevel !== level) throw new DiskProbeError(ErrorCode.CORRUPT, `bmap btree block has level ${blockLevel}, expected ${level}`, this.where('xfs_btree_block', at, 'bb_level'));
        const hdr = this.sb.v5 ? Bt.HDR_V5 : Bt.HDR_V4;
        const n = v.getUint16(Bt.bb_numrecs);
        if (level === 0) return this.decodeExtents(b, hdr, n, out);
        const max = Math.floor((this.sb.blockSize - hdr) / 16);
        if (n > max) throw new DiskProbeError(ErrorCode.CORRUPT, `bmap btree node has ${n} records, room for ${max}`, this.where('xfs_btree_block', at, 'bb_numrecs'));
        for (let i = 0; i < n; i++) await walk(be64(v, hdr + max * 8 + i * 8), level - 1);
      };
      for (let i = 0; i < numrecs; i++) await walk(be64(f, Bmdr.HDR + maxrecs * 8 + i * 8), level - 1);
    } else if (node.format !== Format.LOCAL) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `inode ${node.ino} has data fork format ${node.format}`, this.where('xfs_dinode', undefined, 'di_format'));
    }
    out.sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.offset < out[i - 1]!.offset + out[i - 1]!.count) throw new DiskProbeError(ErrorCode.CORRUPT, `extents of inode ${node.ino} overlap at block ${out[i]!.offset}`, this.where('xfs_bmbt_rec'));
    }
    return out;
  }

  /** Reads `[offset, offset + length)` of a file's data. */
  protected async readData(node: Inode, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    if (node.format === Format.LOCAL) {
      const out = new Uint8Array(length);
      out.set(node.fork.subarray(Math.min(offset, node.fork.length), Math.min(offset + length, node.fork.length)));
      return out;
    }
    const bs = this.sb.blockSize;
    const all = await this.extents(node);
    const first = Math.floor(offset / bs);
    const end = offset + length;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.offset + all[mid]!.count <= first) lo = mid + 1;
      else hi = mid;
    }
    const e0 = all[lo];
    if (e0 && !e0.unwritten && e0.offset * bs <= offset && (e0.offset + e0.count) * bs >= end) {
      // One extent holds the whole request: the device's buffer is the answer.
      return this.dev.read(e0.start * bs + (offset - e0.offset * bs), length, signal);
    }
    const out = new Uint8Array(length);
    const reads: Promise<void>[] = [];
    for (let i = lo; i < all.length && all[i]!.offset * bs < end; i++) {
      const e = all[i]!;
      if (e.unwritten) continue;
      const from = Math.max(offset, e.offset * bs);
      const to = Math.min(end, (e.offset + e.count) * bs);
      if (from >= to) continue;
      reads.push(this.dev.read(e.start * bs + (from - e.offset * bs), to - from, signal).then((b) => out.set(b, from - offset)));
    }
    await Promise.all(reads);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Directories and symlinks

  private readonly decoder = new TextDecoder('utf-8');

  protected async entries(dir: Inode): Promise<Map<string, DirEntry>> {
    const hit = this.dirs.get(dir.ino);
    if (hit) return hit;
    if (typeOf(dir.mode) !== 'directory') throw new DiskProbeError(ErrorCode.NOT_DIRECTORY, `inode ${dir.ino} is not a directory`, this.where('xfs_dinode'));
    const out = new Map<string, DirEntry>();
    if (dir.format === Format.LOCAL) this.parseShortform(dir, out);
    else await this.parseBlocks(dir, out);
    this.dirs.set(dir.ino, out, Math.max(1, out.size));
    return out;
  }

  /** Shortform: a header (count, i8count, parent), then entries: namelen, offset, name, [ftype], inode. */
  private parseShortform(dir: Inode, out: Map<string, DirEntry>): void {
    const b = dir.fork;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const count = b[0]!;
    const i8 = b[1]! !== 0;
    const inoSize = i8 ? 8 : 4;
    let at = 2 + inoSize;
    for (let i = 0; i < count; i++) {
      if (at + 3 > b.length) throw new DiskProbeError(ErrorCode.CORRUPT, `shortform directory ${dir.ino} runs past its fork`, this.where('xfs_dir2_sf_entry'));
      const nameLen = b[at]!;
      const nameAt = at + 3;
      const ftypeAt = nameAt + nameLen;
      const inoAt = ftypeAt + (this.sb.ftype ? 1 : 0);
      if (nameLen === 0 || inoAt + inoSize > b.length) throw new DiskProbeError(ErrorCode.CORRUPT, `shortform directory ${dir.ino} has an entry past its fork`, this.where('xfs_dir2_sf_entry', undefined, 'namelen'));
      const ino = i8 ? be64(v, inoAt) : v.getUint32(inoAt);
      const name = this.decoder.decode(b.subarray(nameAt, nameAt + nameLen));
      out.set(name, { name, ino, type: this.sb.ftype ? (TYPE_OF_FTYPE[b[ftypeAt]!] ?? 'unknown') : 'unknown' });
      at = inoAt + inoSize;
    }
  }

  /** Block, leaf, node and btree forms: every data block below the leaf offset. */
  private async parseBlocks(dir: Inode, out: Map<string, DirEntry>): Promise<void> {
    const sb = this.sb;
    const dbs = sb.dirBlockSize;
    const fsPerDir = dbs / sb.blockSize;
    const limit = DIR2_LEAF_OFFSET / sb.blockSize;
    const extents = (await this.extents(dir)).filter((e) => e.offset < limit);
    let bytes = 0;
    for (const e of extents) {
      // Directory blocks are whole runs of fsPerDir file blocks.
      for (let fb = e.offset - (e.offset % fsPerDir); fb < Math.min(e.offset + e.count, limit); fb += fsPerDir) {
        if (fb < e.offset) continue;
        if ((bytes += dbs) > this.maxDirectoryBytes) throw new DiskProbeError(ErrorCode.LIMIT, `directory ${dir.ino} has more than ${this.maxDirectoryBytes} bytes of data blocks (maxDirectoryBytes)`, this.where('xfs_dir2_data_hdr'));
        const data = await this.readData(dir, fb * sb.blockSize, dbs);
        this.parseDataBlock(dir, data, (e.start + (fb - e.offset)) * sb.blockSize, out);
      }
    }
  }

  private parseDataBlock(dir: Inode, b: Uint8Array, at: number, out: Map<string, DirEntry>): void {
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const magic = v.getUint32(0);
    const v5 = magic === DirMagic.BLOCK_V5 || magic === DirMagic.DATA_V5;
    if (!v5 && magic !== DirMagic.BLOCK_V4 && magic !== DirMagic.DATA_V4) {
      throw new DiskProbeError(ErrorCode.BAD_MAGIC, `directory ${dir.ino} data block has magic 0x${magic.toString(16)}`, this.where('xfs_dir2_data_hdr', at, 'magic'));
    }
    if (v5) this.checkCrc(b, DIR_CRC_OFFSET, 'xfs.directory-checksum', `directory ${dir.ino}'s block`, at);
    let end = b.length;
    if (magic === DirMagic.BLOCK_V4 || magic === DirMagic.BLOCK_V5) {
      // Block form: the leaf entries and a tail (count, stale) close the block.
      const count = v.getUint32(b.length - 8);
      end = b.length - 8 - count * 8;
      if (end < (v5 ? DIR_HDR_V5 : DIR_HDR_V4)) throw new DiskProbeError(ErrorCode.CORRUPT, `directory ${dir.ino}'s block tail counts ${count} leaf entries, more than fit`, this.where('xfs_dir2_block_tail', at + b.length - 8, 'count'));
    }
    let o = v5 ? DIR_HDR_V5 : DIR_HDR_V4;
    while (o + 8 <= end) {
      if (v.getUint16(o) === DIR2_FREE_TAG) {
        const len = v.getUint16(o + 2);
        if (len < 8 || len % 8 !== 0 || o + len > end) throw new DiskProbeError(ErrorCode.CORRUPT, `unused directory space of ${len} bytes runs past its block`, this.where('xfs_dir2_data_unused', at + o, 'length'));
        o += len;
        continue;
      }
      // An entry is at least 16 bytes: inode, namelen, a name byte, tag.
      if (o + 16 > end) throw new DiskProbeError(ErrorCode.CORRUPT, `directory entry at byte ${o} does not fit its block`, this.where('xfs_dir2_data_entry', at + o));
      const ino = be64(v, o);
      const nameLen = b[o + 8]!;
      const size = (8 + 1 + nameLen + (this.sb.ftype ? 1 : 0) + 2 + 7) & ~7;
      if (nameLen === 0 || o + size > end) throw new DiskProbeError(ErrorCode.CORRUPT, `directory entry of ${size} bytes runs past its block`, this.where('xfs_dir2_data_entry', at + o, 'namelen'));
      const name = this.decoder.decode(b.subarray(o + 9, o + 9 + nameLen));
      if (name !== '.' && name !== '..') {
        out.set(name, { name, ino, type: this.sb.ftype ? (TYPE_OF_FTYPE[b[o + 9 + nameLen]!] ?? 'unknown') : 'unknown' });
      }
      o += size;
    }
  }

  protected async linkTarget(node: Inode): Promise<string> {
    if (node.size > 1024) throw new DiskProbeError(ErrorCode.CORRUPT, `symbolic link of ${node.size} bytes (XFS allows 1024)`, this.where('xfs_dinode', undefined, 'di_size'));
    if (node.format === Format.LOCAL) return this.decoder.decode(node.fork.subarray(0, Math.min(node.size, node.fork.length)));
    // Remote: the target spans one or more blocks; on v5 each starts with an "XSLM" header.
    const bs = this.sb.blockSize;
    const extents = await this.extents(node);
    const parts: Uint8Array[] = [];
    let remaining = node.size;
    for (const e of extents) {
      for (let i = 0; i < e.count && remaining > 0; i++) {
        const at = (e.start + i) * bs;
        const b = await this.meta.read(at, bs);
        let data = b;
        if (this.sb.v5) {
          const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
          if (v.getUint32(0) !== Symlink.MAGIC) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'remote symlink block has no "XSLM" magic', this.where('xfs_dsymlink_hdr', at, 'sl_magic'));
          this.checkCrc(b, 12, 'xfs.symlink-checksum', 'remote symlink block', at);
          data = b.subarray(Symlink.HDR);
        }
        const n = Math.min(remaining, data.length);
        parts.push(data.subarray(0, n));
        remaining -= n;
      }
    }
    const all = new Uint8Array(node.size - remaining);
    let p = 0;
    for (const part of parts) {
      all.set(part, p);
      p += part.length;
    }
    return this.decoder.decode(all);
  }

  // -------------------------------------------------------------------------------------------
  // The FileSystem interface

  protected statOf(n: Inode): Stats {
    const type = typeOf(n.mode);
    const flags: string[] = [];
    for (const [bit, name] of DI_FLAG_NAMES) if (n.flags & bit) flags.push(name);
    for (const [bit, name] of DI_FLAG2_NAMES) if (n.flags2 & bit) flags.push(name);
    const stats: Stats = {
      ino: n.ino,
      type,
      mode: n.mode,
      permissions: n.mode & 0o7777,
      uid: n.uid,
      gid: n.gid,
      size: n.size,
      nlink: n.nlink,
      atime: n.atime,
      mtime: n.mtime,
      ctime: n.ctime,
      birthtime: n.crtime,
      allocated: n.nblocks * this.sb.blockSize,
      flags,
      rawFlags: n.flags,
    };
    if ((type === 'char' || type === 'block') && n.fork.length >= 4) {
      // The device number: Linux's "new" encoding, as XFS stores it (xfs_dinode's data fork).
      const dev = new DataView(n.fork.buffer, n.fork.byteOffset, 4).getUint32(0);
      stats.rdev = { major: dev >>> 18, minor: dev & 0x3ffff };
    }
    return stats;
  }

  /**
   * Sums the AG headers: free blocks (free space, free list and btree blocks, which the
   * superblock's lazy counter counts too), allocated and free inodes. Each header's magic, AG
   * number and v5 CRC are checked; a bad one is an error, a bad CRC a finding.
   */
  private async agTotals(): Promise<{ freeBlocks: number; inodes: number; freeInodes: number }> {
    const sb = this.sb;
    const sect = sb.raw.length;
    let freeBlocks = 0;
    let inodes = 0;
    let freeInodes = 0;
    for (let ag = 0; ag < sb.agcount; ag++) {
      const base = ag * sb.agblocks * sb.blockSize;
      const agf = copyBytes(await this.meta.read(base + sect, sect));
      const agi = copyBytes(await this.meta.read(base + 2 * sect, sect));
      const fv = new DataView(agf.buffer);
      const iv = new DataView(agi.buffer);
      if (fv.getUint32(Agf.agf_magicnum) !== Agf.MAGIC || fv.getUint32(Agf.agf_seqno) !== ag) throw new DiskProbeError(ErrorCode.CORRUPT, `AG ${ag}'s AGF has the wrong magic or AG number`, this.where('xfs_agf', base + sect));
      if (iv.getUint32(Agi.agi_magicnum) !== Agi.MAGIC || iv.getUint32(Agi.agi_seqno) !== ag) throw new DiskProbeError(ErrorCode.CORRUPT, `AG ${ag}'s AGI has the wrong magic or AG number`, this.where('xfs_agi', base + 2 * sect));
      if (sb.v5) {
        this.checkCrc(agf, Agf.agf_crc, 'xfs.agf-checksum', `AG ${ag}'s AGF`, base + sect);
        this.checkCrc(agi, Agi.agi_crc, 'xfs.agi-checksum', `AG ${ag}'s AGI`, base + 2 * sect);
      }
      freeBlocks += fv.getUint32(Agf.agf_freeblks) + fv.getUint32(Agf.agf_flcount) + fv.getUint32(Agf.agf_btreeblks);
      inodes += iv.getUint32(Agi.agi_count);
      freeInodes += iv.getUint32(Agi.agi_freecount);
    }
    return { freeBlocks, inodes, freeInodes };
  }

  async statfs(): Promise<FsStats> {
    const sb = this.sb;
    const ag = await this.agTotals();
    const v = new DataView(sb.raw.buffer, sb.raw.byteOffset, sb.raw.byteLength);
    const features = [
      `v${sb.versionnum & 0xf}`,
      ...bitNames(sb.versionnum & 0xfff0, VERSION_BITS, 'version_bit'),
      ...bitNames(sb.features2, FEATURES2_BITS, 'features2_bit'),
      ...(sb.v5 ? [...bitNames(sb.roCompat, RO_COMPAT_BITS, 'ro_compat_bit'), ...bitNames(sb.incompat, INCOMPAT_BITS, 'incompat_bit'), ...bitNames(sb.logIncompat, LOG_INCOMPAT_BITS, 'log_incompat_bit')] : []),
    ];
    const log = this.logClean ?? { clean: false, why: 'not looked at' };
    return {
      type: 'xfs',
      blockSize: sb.blockSize,
      blocks: sb.dblocks,
      freeBlocks: be64(v, Sb.sb_fdblocks),
      reservedBlocks: 0,
      inodes: be64(v, Sb.sb_icount),
      freeInodes: be64(v, Sb.sb_ifree),
      label: cString(sb.raw, Sb.sb_fname, 12) || undefined,
      uuid: uuidString(sb.raw, Sb.sb_uuid),
      features: [...new Set(features)],
      state: { clean: log.clean, errors: false, orphans: false, needsRecovery: !log.clean },
      facts: {
        version: sb.versionnum & 0xf,
        agcount: sb.agcount,
        agblocks: sb.agblocks,
        inodeSize: sb.inodeSize,
        directoryBlockSize: sb.dirBlockSize,
        imaxPct: sb.raw[Sb.sb_imax_pct],
        log: log.why,
        logBlocks: sb.logBlocks,
        rootInode: sb.rootIno,
        /** What the AG headers count (the superblock's counters are lazily updated). */
        agFreeBlocks: ag.freeBlocks,
        agInodes: ag.inodes,
        agFreeInodes: ag.freeInodes,
      },
    };
  }
}
