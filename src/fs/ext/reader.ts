/**
 * An ext2/ext3/ext4 reader (structures: layout.ts). It reads the superblock (or, if the primary
 * is damaged, a backup, which is a finding), group descriptors of either size (with meta_bg),
 * inodes of any size with their extra fields, file data through extent trees of any depth
 * (uninitialized extents read as zeros) or direct and indirect blocks, inline data, linear and
 * hashed directories (read as their linear leaves), and fast, slow and inline symlinks. The
 * journal is not replayed: a journal that needs recovery is reported. With metadata_csum,
 * the superblock, the group descriptors and every inode read are checked; mismatches are
 * findings. Nothing is written.
 */
import type { Finding } from '../../container/types.js';
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode } from '../../errors.js';
import { crc32cUpdate } from '../../util/crc32c.js';
import { copyBytes, cString, hasBytes, uuidString } from '../../util/bytes.js';
import { Lru } from '../../util/lru.js';
import { extTypeOf } from '../../volume/content.js';
import { fileTypeOfMode, InodeFileSystem, metadataCache } from '../inode-fs.js';
import type { Tree } from '../path.js';
import type { DirEntry, FileType, FsStats, Stats, Timestamp } from '../types.js';
import {
  De,
  Ee,
  Eh,
  Ei,
  EXT_MAGIC,
  featureNames,
  Gd,
  In,
  Incompat,
  INCOMPAT_UNDERSTOOD,
  InodeFlag,
  inodeFlagNames,
  RoCompat,
  Sb,
  State,
  SUPERBLOCK_OFFSET,
  SUPERBLOCK_SIZE,
  XATTR_INDEX_SYSTEM,
  XATTR_MAGIC,
  Xe,
} from './layout.js';

/** Inodes kept decoded. */
const INODE_CACHE = 4096;
/** Directory entries kept parsed (summed over directories). */
const DIR_CACHE_ENTRIES = 200_000;
/** Extent-tree nodes read for one file before giving up (a tree whose indexes fan out to the same blocks). */
export const MAX_EXTENT_NODES = 1 << 16;
/** Extents kept for one file. */
export const MAX_EXTENTS = 1 << 22;

/** An inode, decoded. */
export interface Inode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  links: number;
  flags: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
  crtime?: Timestamp;
  /** 512-byte units (or blocks, for huge files), as i_blocks says. */
  allocated: number;
  fileAcl: number;
  generation: number;
  /** i_block: 60 bytes of extent root, block pointers, fast symlink or inline data. */
  iblock: Uint8Array;
  /** The whole on-disk inode (for in-inode extended attributes). */
  raw: Uint8Array;
  extraIsize: number;
}

/** A mapped run of a file: `count` logical blocks from `logical`, at `physical` (0: a hole). */
interface Run {
  logical: number;
  physical: number;
  count: number;
  /** Uninitialized extent: reads as zeros. */
  uninit: boolean;
}

const TYPE_OF_DIRENT: Record<number, FileType> = { 1: 'file', 2: 'directory', 3: 'char', 4: 'block', 5: 'fifo', 6: 'socket', 7: 'symlink' };

const typeOf = fileTypeOfMode;

/** The superblock's numbers, decoded and checked. */
interface Super {
  raw: Uint8Array;
  /** Where it was read from. */
  offset: number;
  blockSize: number;
  blocks: number;
  reservedBlocks: number;
  freeBlocks: number;
  inodes: number;
  freeInodes: number;
  firstDataBlock: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  inodeSize: number;
  descSize: number;
  groups: number;
  compat: number;
  incompat: number;
  roCompat: number;
  firstMetaBg: number;
  state: number;
  revision: number;
  csumSeed: number;
}

/** Reads a 64-bit value split into `lo` and `hi` 32-bit halves, or Infinity past 2^53. */
function join64(lo: number, hi: number): number {
  return hi >= 0x200000 ? Infinity : hi * 0x1_0000_0000 + lo;
}

/** ext4 times: a signed 32-bit second count, extended by the extra field's two epoch bits. */
function timeOf(v: DataView, at: number, extraAt: number | undefined): Timestamp {
  let sec = v.getInt32(at, true);
  let nsec = 0;
  if (extraAt !== undefined) {
    const extra = v.getUint32(extraAt, true);
    sec += (extra & 3) * 0x1_0000_0000;
    nsec = extra >>> 2;
  }
  return { sec, nsec };
}

export class ExtFileSystem extends InodeFileSystem<Inode> {
  readonly type: string;
  protected readonly format = 'ext';
  private readonly meta: BlockDevice;
  private readonly inodes = new Lru<number, Inode>(INODE_CACHE);
  private readonly dirs = new Lru<number, Map<string, DirEntry>>(DIR_CACHE_ENTRIES);
  private readonly descBlocks = new Map<number, Promise<Uint8Array>>();
  /** Groups whose descriptor checksum was verified (once is enough: the bytes do not change). */
  private readonly checkedGroups = new Set<number>();
  protected readonly tree: Tree<Inode>;

  private constructor(
    private readonly dev: BlockDevice,
    private readonly sb: Super,
    type: string,
  ) {
    super(dev.label);
    this.type = type;
    // Metadata (inode tables, directories, extent and indirect blocks) through a block cache;
    // large file reads pass it by (cached() sends reads of several blocks straight through).
    this.meta = metadataCache(dev, sb.blockSize);
    this.tree = {
      root: () => this.inode(2),
      lookup: (dir, name) => this.lookup(dir, name),
      isDirectory: (n) => typeOf(n.mode) === 'directory',
      isSymlink: (n) => typeOf(n.mode) === 'symlink',
      readlink: (n) => this.linkTarget(n),
    };
  }

  private where(structure: string, offset?: number, field?: string) {
    return { layer: 'fs' as const, format: 'ext', device: this.dev.label, structure, offset, field };
  }

  // -------------------------------------------------------------------------------------------
  // Opening

  /** Opens the ext filesystem on `dev`. */
  static async open(dev: BlockDevice, signal?: AbortSignal): Promise<ExtFileSystem> {
    const findings: Finding[] = [];
    let sb: Super | undefined;
    let primaryProblem: string | undefined;
    try {
      sb = await readSuper(dev, SUPERBLOCK_OFFSET, signal);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      primaryProblem = e.message;
    }
    if (!sb) {
      // The backup in group 1 lies after 8 × block size blocks (one bitmap block's worth).
      for (const bs of [1024, 2048, 4096, 8192, 16384, 32768, 65536]) {
        const at = (8 * bs + (bs === 1024 ? 1 : 0)) * bs;
        if (at + SUPERBLOCK_SIZE > dev.size) break;
        try {
          sb = await readSuper(dev, at, signal);
          if (sb.blockSize !== bs) {
            sb = undefined;
            continue;
          }
          findings.push({ severity: 'warning', code: 'ext.backup-superblock', message: `the primary superblock is damaged (${primaryProblem}); the backup at byte ${at} was used`, offset: SUPERBLOCK_OFFSET });
          break;
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
        }
      }
      if (!sb) throw new DiskProbeError(ErrorCode.BAD_MAGIC, `not an ext2/3/4 filesystem, or its superblock and first backup are damaged (${primaryProblem})`, { layer: 'fs', format: 'ext', device: dev.label, structure: 'ext4_super_block', offset: SUPERBLOCK_OFFSET });
    }
    const unknown = sb.incompat & ~INCOMPAT_UNDERSTOOD;
    if (unknown) {
      const names = featureNames(0, unknown, 0);
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, `uses incompatible features diskprobe does not read: ${names.join(', ')}`, { layer: 'fs', format: 'ext', device: dev.label, structure: 'ext4_super_block', field: 's_feature_incompat', offset: sb.offset + Sb.s_feature_incompat, value: `0x${sb.incompat.toString(16)}` });
    }
    const type = extTypeOf(sb.compat, sb.incompat, sb.roCompat, new DataView(sb.raw.buffer, sb.raw.byteOffset, sb.raw.byteLength).getUint32(Sb.s_flags, true));
    const fs = new ExtFileSystem(dev, sb, type);
    fs.findings.push(...findings);
    fs.checkState();
    return fs;
  }

  private checkState(): void {
    const sb = this.sb;
    const v = new DataView(sb.raw.buffer, sb.raw.byteOffset, sb.raw.byteLength);
    if (sb.roCompat & RoCompat.METADATA_CSUM) {
      const want = v.getUint32(Sb.s_checksum, true);
      const got = crc32cUpdate(0xffffffff, sb.raw, 0, Sb.s_checksum);
      if (got !== want) this.findings.push({ severity: 'error', code: 'ext.superblock-checksum', message: `superblock checksum is 0x${want.toString(16)}, computed 0x${got.toString(16)}`, offset: sb.offset + Sb.s_checksum });
    }
    if (sb.incompat & Incompat.RECOVER) this.findings.push({ severity: 'warning', code: 'ext.needs-recovery', message: 'the journal needs recovery: the filesystem was not cleanly unmounted, and what is read may miss its last changes', offset: sb.offset + Sb.s_feature_incompat });
    if (sb.state & State.ERROR) this.findings.push({ severity: 'warning', code: 'ext.errors', message: 'the filesystem recorded errors (s_state): run e2fsck before use', offset: sb.offset + Sb.s_state });
    // e2fsprogs writes backups with the valid bit clear (so that using one forces a check): only
    // the primary's state says how the filesystem was unmounted.
    else if (!(sb.state & State.VALID) && !(sb.incompat & Incompat.RECOVER) && sb.offset === SUPERBLOCK_OFFSET) this.findings.push({ severity: 'warning', code: 'ext.not-clean', message: 'the filesystem was not cleanly unmounted (s_state)', offset: sb.offset + Sb.s_state });
    if (v.getUint32(Sb.s_last_orphan, true) !== 0 || sb.state & State.ORPHAN) this.findings.push({ severity: 'info', code: 'ext.orphans', message: 'orphan inodes are waiting to be freed (files deleted while open)', offset: sb.offset + Sb.s_last_orphan });
  }

  // -------------------------------------------------------------------------------------------
  // Group descriptors and inodes

  private descBlockAt(index: number): number {
    const sb = this.sb;
    const perBlock = sb.blockSize / sb.descSize;
    if (!(sb.incompat & Incompat.META_BG) || index < sb.firstMetaBg) return sb.firstDataBlock + 1 + index;
    // meta_bg: the descriptors of a meta group sit in its first group (after its superblock backup).
    const group = index * perBlock;
    return sb.firstDataBlock + group * sb.blocksPerGroup + (this.hasSuperblock(group) ? 1 : 0);
  }

  private hasSuperblock(group: number): boolean {
    if (group === 0 || !(this.sb.roCompat & RoCompat.SPARSE_SUPER)) return true;
    if (group === 1) return true;
    for (const base of [3, 5, 7]) {
      let p = base;
      while (p < group) p *= base;
      if (p === group) return true;
    }
    return false;
  }

  private async groupDesc(group: number): Promise<DataView> {
    const sb = this.sb;
    const perBlock = sb.blockSize / sb.descSize;
    const index = Math.floor(group / perBlock);
    let block = this.descBlocks.get(index);
    if (!block) {
      const at = this.descBlockAt(index) * sb.blockSize;
      if (at + sb.blockSize > this.dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, 'group descriptor block lies past the end of the filesystem', this.where('ext4_group_desc', at));
      block = this.meta.read(at, sb.blockSize);
      this.descBlocks.set(index, block);
      block.catch(() => this.descBlocks.delete(index));
    }
    const b = await block;
    const off = (group % perBlock) * sb.descSize;
    const view = new DataView(b.buffer, b.byteOffset + off, sb.descSize);
    if (sb.roCompat & RoCompat.METADATA_CSUM && !this.checkedGroups.has(group)) {
      this.checkedGroups.add(group);
      const le = new Uint8Array(4);
      new DataView(le.buffer).setUint32(0, group, true);
      let c = crc32cUpdate(sb.csumSeed, le);
      const copy = copyBytes(b, off, off + sb.descSize);
      copy[Gd.bg_checksum] = 0;
      copy[Gd.bg_checksum + 1] = 0;
      c = crc32cUpdate(c, copy) & 0xffff;
      const want = view.getUint16(Gd.bg_checksum, true);
      if (c !== want) this.note('ext.descriptor-checksum', `group ${group}'s descriptor checksum is 0x${want.toString(16)}, computed 0x${c.toString(16)}`, this.descBlockAt(index) * sb.blockSize + off);
    }
    return view;
  }

  /** A finding recorded once per code and offset. */
  /** Reads and decodes inode `ino`. */
  async inode(ino: number): Promise<Inode> {
    const hit = this.inodes.get(ino);
    if (hit) return hit;
    const sb = this.sb;
    if (!Number.isInteger(ino) || ino < 1 || ino > sb.inodes) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `inode number ${ino} is outside 1..${sb.inodes}`, this.where('ext4_inode', undefined, 'inode'));
    }
    const group = Math.floor((ino - 1) / sb.inodesPerGroup);
    const index = (ino - 1) % sb.inodesPerGroup;
    const gd = await this.groupDesc(group);
    const table = join64(gd.getUint32(Gd.bg_inode_table_lo, true), sb.descSize >= Gd.SIZE_64 ? gd.getUint32(Gd.bg_inode_table_hi, true) : 0);
    const at = table * sb.blockSize + index * sb.inodeSize;
    if (!Number.isSafeInteger(at) || table < 1 || at + sb.inodeSize > this.dev.size) {
      throw new DiskProbeError(ErrorCode.CORRUPT, `group ${group}'s inode table (block ${table}) lies outside the filesystem`, this.where('ext4_group_desc', undefined, 'bg_inode_table'));
    }
    const raw = copyBytes(await this.meta.read(at, sb.inodeSize));
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const extraIsize = sb.inodeSize > In.GOOD_OLD_SIZE ? Math.min(v.getUint16(In.i_extra_isize, true), sb.inodeSize - In.GOOD_OLD_SIZE) : 0;
    const has = (field: number) => field + 4 <= In.GOOD_OLD_SIZE + extraIsize;
    if (sb.roCompat & RoCompat.METADATA_CSUM) this.checkInode(ino, raw, extraIsize, at);
    const flags = v.getUint32(In.i_flags, true);
    const blocksLo = v.getUint32(In.i_blocks_lo, true);
    const blocksHi = sb.roCompat & RoCompat.HUGE_FILE ? v.getUint16(In.l_i_blocks_high, true) : 0;
    const blocks = blocksHi * 0x1_0000_0000 + blocksLo;
    const node: Inode = {
      ino,
      mode: v.getUint16(In.i_mode, true),
      uid: v.getUint16(In.i_uid, true) | (v.getUint16(In.l_i_uid_high, true) << 16),
      gid: v.getUint16(In.i_gid, true) | (v.getUint16(In.l_i_gid_high, true) << 16),
      size: join64(v.getUint32(In.i_size_lo, true), v.getUint32(In.i_size_high, true)),
      links: v.getUint16(In.i_links_count, true),
      flags,
      atime: timeOf(v, In.i_atime, has(In.i_atime_extra) ? In.i_atime_extra : undefined),
      mtime: timeOf(v, In.i_mtime, has(In.i_mtime_extra) ? In.i_mtime_extra : undefined),
      ctime: timeOf(v, In.i_ctime, has(In.i_ctime_extra) ? In.i_ctime_extra : undefined),
      crtime: has(In.i_crtime) ? timeOf(v, In.i_crtime, has(In.i_crtime_extra) ? In.i_crtime_extra : undefined) : undefined,
      allocated: flags & InodeFlag.HUGE_FILE ? blocks * sb.blockSize : blocks * 512,
      fileAcl: join64(v.getUint32(In.i_file_acl_lo, true), v.getUint16(In.l_i_file_acl_high, true)),
      generation: v.getUint32(In.i_generation, true),
      iblock: raw.subarray(In.i_block, In.i_block + In.I_BLOCK_SIZE),
      raw,
      extraIsize,
    };
    if (node.size === Infinity) throw new DiskProbeError(ErrorCode.LIMIT, 'file size does not fit in 2^53', this.where('ext4_inode', at + In.i_size_high, 'i_size'));
    this.inodes.set(ino, node);
    return node;
  }

  /** metadata_csum: crc32c(seed, inode number, generation, inode with its checksum fields zeroed). */
  private checkInode(ino: number, raw: Uint8Array, extraIsize: number, at: number): void {
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const le = new Uint8Array(8);
    const lv = new DataView(le.buffer);
    lv.setUint32(0, ino, true);
    lv.setUint32(4, v.getUint32(In.i_generation, true), true);
    const hiPresent = extraIsize >= 4;
    const copy = copyBytes(raw);
    copy[In.l_i_checksum_lo] = copy[In.l_i_checksum_lo + 1] = 0;
    if (hiPresent) copy[In.i_checksum_hi] = copy[In.i_checksum_hi + 1] = 0;
    let c = crc32cUpdate(this.sb.csumSeed, le, 0, 4);
    c = crc32cUpdate(c, le, 4, 8);
    c = crc32cUpdate(c, copy);
    const want = v.getUint16(In.l_i_checksum_lo, true) | (hiPresent ? v.getUint16(In.i_checksum_hi, true) << 16 : 0);
    const got = hiPresent ? c : c & 0xffff;
    if (got >>> 0 !== want >>> 0) this.note('ext.inode-checksum', `inode ${ino}'s checksum is 0x${want.toString(16)}, computed 0x${(got >>> 0).toString(16)}`, at);
  }

  // -------------------------------------------------------------------------------------------
  // Block mapping

  /** The runs covering logical blocks `[first, first + count)` of a file. */
  private async map(node: Inode, first: number, count: number): Promise<Run[]> {
    if (node.flags & InodeFlag.EXTENTS) return this.mapExtents(node, first, count);
    return this.mapIndirect(node, first, count);
  }

  private readonly extentCache = new Lru<number, Promise<Run[]>>(256);

  /** Every leaf extent of a file, in logical order (cached per inode). */
  private extents(node: Inode): Promise<Run[]> {
    return this.extentCache.memo(node.ino, () => this.loadExtents(node));
  }

  private async loadExtents(node: Inode): Promise<Run[]> {
    const out: Run[] = [];
    let nodes = 0;
    const walk = async (b: Uint8Array, depth: number | undefined, at: number): Promise<void> => {
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const w = this.where('ext4_extent_header', at);
      if (v.getUint16(Eh.eh_magic, true) !== Eh.MAGIC) throw new DiskProbeError(ErrorCode.BAD_MAGIC, `extent header magic is 0x${v.getUint16(Eh.eh_magic, true).toString(16)}`, { ...w, field: 'eh_magic', expected: '0xf30a' });
      const entries = v.getUint16(Eh.eh_entries, true);
      const max = v.getUint16(Eh.eh_max, true);
      const d = v.getUint16(Eh.eh_depth, true);
      if (entries > max || Eh.SIZE + max * Ee.SIZE > b.length) throw new DiskProbeError(ErrorCode.CORRUPT, `extent node has ${entries} entries, room for ${max}`, { ...w, field: 'eh_entries' });
      if (d > Eh.MAX_DEPTH || (depth !== undefined && d !== depth)) throw new DiskProbeError(ErrorCode.CORRUPT, `extent node depth is ${d}, expected ${depth ?? `at most ${Eh.MAX_DEPTH}`}`, { ...w, field: 'eh_depth' });
      if (++nodes > MAX_EXTENT_NODES) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_EXTENT_NODES} extent nodes in one file`, w);
      for (let i = 0; i < entries; i++) {
        const e = Eh.SIZE + i * Ee.SIZE;
        const logical = v.getUint32(e + Ee.ee_block, true);
        if (d === 0) {
          const len = v.getUint16(e + Ee.ee_len, true);
          const uninit = len > Ee.INIT_MAX_LEN;
          const physical = v.getUint16(e + Ee.ee_start_hi, true) * 0x1_0000_0000 + v.getUint32(e + Ee.ee_start_lo, true);
          const n = uninit ? len - Ee.INIT_MAX_LEN : len;
          if (n === 0) continue;
          if (physical + n > this.sb.blocks) throw new DiskProbeError(ErrorCode.CORRUPT, `extent maps blocks ${physical}..${physical + n - 1}, past the filesystem's ${this.sb.blocks}`, { ...w, field: 'ee_start' });
          if (out.length >= MAX_EXTENTS) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_EXTENTS} extents in one file`, w);
          out.push({ logical, physical, count: n, uninit });
        } else {
          const child = v.getUint16(e + Ei.ei_leaf_hi, true) * 0x1_0000_0000 + v.getUint32(e + Ei.ei_leaf_lo, true);
          if (child < 1 || child >= this.sb.blocks) throw new DiskProbeError(ErrorCode.CORRUPT, `extent index points at block ${child}, outside the filesystem`, { ...w, field: 'ei_leaf' });
          const cat = child * this.sb.blockSize;
          await walk(await this.meta.read(cat, this.sb.blockSize), d - 1, cat);
        }
      }
    };
    await walk(node.iblock, undefined, -1);
    out.sort((a, b) => a.logical - b.logical);
    for (let i = 1; i < out.length; i++) {
      if (out[i]!.logical < out[i - 1]!.logical + out[i - 1]!.count) throw new DiskProbeError(ErrorCode.CORRUPT, `extents overlap at logical block ${out[i]!.logical} of inode ${node.ino}`, this.where('ext4_extent'));
    }
    return out;
  }

  private async mapExtents(node: Inode, first: number, count: number): Promise<Run[]> {
    const all = await this.extents(node);
    const out: Run[] = [];
    const end = first + count;
    // Binary search for the first extent ending after `first`.
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid]!.logical + all[mid]!.count <= first) lo = mid + 1;
      else hi = mid;
    }
    let pos = first;
    for (let i = lo; i < all.length && pos < end; i++) {
      const e = all[i]!;
      if (e.logical > pos) {
        const gap = Math.min(e.logical, end) - pos;
        out.push({ logical: pos, physical: 0, count: gap, uninit: false });
        pos += gap;
        if (pos >= end) break;
      }
      const skip = pos - e.logical;
      const n = Math.min(e.count - skip, end - pos);
      out.push({ logical: pos, physical: e.physical + skip, count: n, uninit: e.uninit });
      pos += n;
    }
    if (pos < end) out.push({ logical: pos, physical: 0, count: end - pos, uninit: false });
    return out;
  }

  /** ext2/3 block pointers: 12 direct, then single, double and triple indirect blocks. */
  private async mapIndirect(node: Inode, first: number, count: number): Promise<Run[]> {
    const per = this.sb.blockSize / 4;
    const iv = new DataView(node.iblock.buffer, node.iblock.byteOffset, 60);
    const tables = new Map<number, Promise<DataView>>();
    const table = (block: number): Promise<DataView> => {
      let t = tables.get(block);
      if (!t) {
        if (block >= this.sb.blocks) throw new DiskProbeError(ErrorCode.CORRUPT, `indirect block ${block} lies outside the filesystem`, this.where('i_block', undefined, 'indirect'));
        t = this.meta.read(block * this.sb.blockSize, this.sb.blockSize).then((b) => new DataView(b.buffer, b.byteOffset, b.byteLength));
        tables.set(block, t);
      }
      return t;
    };
    const lookup = async (l: number): Promise<number> => {
      if (l < 12) return iv.getUint32(l * 4, true);
      let rest = l - 12;
      let levels: number;
      let root: number;
      if (rest < per) [levels, root] = [1, iv.getUint32(48, true)];
      else if ((rest -= per) < per * per) [levels, root] = [2, iv.getUint32(52, true)];
      else if ((rest -= per * per) < per * per * per) [levels, root] = [3, iv.getUint32(56, true)];
      else return 0;
      let block = root;
      for (let level = levels - 1; level >= 0; level--) {
        if (block === 0) return 0;
        const span = per ** level;
        const idx = Math.floor(rest / span);
        rest -= idx * span;
        block = (await table(block)).getUint32(idx * 4, true);
      }
      return block;
    };
    const out: Run[] = [];
    for (let l = first; l < first + count; l++) {
      const physical = await lookup(l);
      if (physical !== 0 && physical >= this.sb.blocks) throw new DiskProbeError(ErrorCode.CORRUPT, `block pointer ${physical} lies outside the filesystem`, this.where('i_block'));
      const last = out[out.length - 1];
      if (last && ((last.physical === 0 && physical === 0) || (last.physical !== 0 && physical === last.physical + last.count))) last.count++;
      else out.push({ logical: l, physical, count: 1, uninit: false });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Data

  /** The value of `system.data` among the inode's in-inode extended attributes (inline data). */
  private inlineXattr(node: Inode): Uint8Array {
    const raw = node.raw;
    const start = In.GOOD_OLD_SIZE + node.extraIsize;
    if (start + 4 > raw.length) return new Uint8Array(0);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (v.getUint32(start, true) !== XATTR_MAGIC) return new Uint8Array(0);
    const first = start + 4;
    for (let at = first; at + Xe.NAME <= raw.length; ) {
      const nameLen = raw[at + Xe.e_name_len]!;
      if (nameLen === 0 && v.getUint32(at, true) === 0) break;
      const index = raw[at + Xe.e_name_index]!;
      const name = cString(raw, at + Xe.NAME, nameLen);
      if (index === XATTR_INDEX_SYSTEM && name === 'data') {
        const offs = v.getUint16(at + Xe.e_value_offs, true);
        const size = v.getUint32(at + Xe.e_value_size, true);
        if (first + offs + size > raw.length) throw new DiskProbeError(ErrorCode.CORRUPT, 'inline data attribute runs past the inode', this.where('ext4_xattr_entry', undefined, 'e_value_size'));
        return raw.subarray(first + offs, first + offs + size);
      }
      at += (Xe.NAME + nameLen + 3) & ~3;
    }
    return new Uint8Array(0);
  }

  /** The bytes of inline data: i_block, then the `system.data` attribute's value. */
  private inlineData(node: Inode): Uint8Array {
    const extra = this.inlineXattr(node);
    const all = new Uint8Array(In.I_BLOCK_SIZE + extra.length);
    all.set(node.iblock);
    all.set(extra, In.I_BLOCK_SIZE);
    return all;
  }

  /** Reads `[offset, offset + length)` of a file's data (zeros for holes and uninitialized extents). */
  protected async readData(node: Inode, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (length === 0) return new Uint8Array(0);
    if (node.flags & InodeFlag.INLINE_DATA) {
      const out = new Uint8Array(length);
      const data = this.inlineData(node);
      out.set(data.subarray(Math.min(offset, data.length), Math.min(offset + length, data.length)));
      return out;
    }
    const bs = this.sb.blockSize;
    const first = Math.floor(offset / bs);
    const last = Math.floor((offset + length - 1) / bs);
    const runs = await this.map(node, first, last - first + 1);
    const only = runs[0]!;
    if (runs.length === 1 && only.physical !== 0 && !only.uninit) {
      // One contiguous run: the device's buffer is the answer, without zeroing and copying.
      const at = only.physical * bs + (offset - only.logical * bs);
      if (at + length > this.dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `data of inode ${node.ino} lies past the end of the device`, this.where('ext4_extent', at));
      return this.dev.read(at, length, signal);
    }
    const out = new Uint8Array(length);
    const reads: Promise<void>[] = [];
    for (const r of runs) {
      if (r.physical === 0 || r.uninit) continue;
      const from = Math.max(offset, r.logical * bs);
      const to = Math.min(offset + length, (r.logical + r.count) * bs);
      const at = r.physical * bs + (from - r.logical * bs);
      if (at + (to - from) > this.dev.size) throw new DiskProbeError(ErrorCode.CORRUPT, `data of inode ${node.ino} lies past the end of the device`, this.where('ext4_extent', at));
      reads.push(this.dev.read(at, to - from, signal).then((b) => out.set(b, from - offset)));
    }
    await Promise.all(reads);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Directories and symlinks

  private decoder = new TextDecoder('utf-8');

  /** Parses directory bytes into entries (`base`: their device offset, for errors; -1 if inline). */
  private parseDir(bytes: Uint8Array, blockSize: number, out: Map<string, DirEntry>, base: number): void {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const fileType = (this.sb.incompat & Incompat.FILETYPE) !== 0;
    for (let block = 0; block < bytes.length; block += blockSize) {
      const end = Math.min(block + blockSize, bytes.length);
      let at = block;
      while (at + De.NAME <= end) {
        const ino = v.getUint32(at + De.inode, true);
        let rec = v.getUint16(at + De.rec_len, true);
        // 64 KiB blocks store 65536 as 65535 or 0, and larger lengths in the low two bits.
        if (blockSize >= 65536) rec = rec === 65535 || rec === 0 ? 65536 : (rec & 65532) | ((rec & 3) << 16);
        const nameLen = fileType ? bytes[at + De.name_len]! : v.getUint16(at + De.name_len, true);
        if (rec < De.NAME || rec % 4 !== 0 || at + rec > end || De.NAME + nameLen > rec) {
          throw new DiskProbeError(ErrorCode.CORRUPT, `directory entry has rec_len ${rec} for a ${nameLen}-byte name in a ${end - at}-byte remainder`, this.where('ext4_dir_entry_2', base >= 0 ? base + at : undefined, 'rec_len'));
        }
        if (ino !== 0 && nameLen > 0) {
          const name = this.decoder.decode(bytes.subarray(at + De.NAME, at + De.NAME + nameLen));
          if (name !== '.' && name !== '..') {
            out.set(name, { name, ino, type: fileType ? (TYPE_OF_DIRENT[bytes[at + De.file_type]!] ?? 'unknown') : 'unknown' });
          }
        }
        at += rec;
      }
    }
  }

  protected async entries(dir: Inode, signal?: AbortSignal): Promise<Map<string, DirEntry>> {
    const hit = this.dirs.get(dir.ino);
    if (hit) return hit;
    if (typeOf(dir.mode) !== 'directory') throw new DiskProbeError(ErrorCode.NOT_DIRECTORY, `inode ${dir.ino} is not a directory`, this.where('ext4_inode'));
    const out = new Map<string, DirEntry>();
    if (dir.flags & InodeFlag.INLINE_DATA) {
      // Inline directories: the parent's inode number, then entries in i_block; more in system.data.
      this.parseDir(dir.iblock.subarray(4), In.I_BLOCK_SIZE - 4, out, -1);
      const extra = this.inlineXattr(dir);
      if (extra.length > 0) this.parseDir(extra, extra.length, out, -1);
    } else {
      if (dir.size > this.maxDirectoryBytes) throw new DiskProbeError(ErrorCode.LIMIT, `directory of ${dir.size} bytes (maxDirectoryBytes is ${this.maxDirectoryBytes})`, this.where('ext4_inode', undefined, 'i_size'));
      const bytes = await this.readData(dir, 0, dir.size, signal);
      this.parseDir(bytes, this.sb.blockSize, out, -1);
    }
    this.dirs.set(dir.ino, out, Math.max(1, out.size));
    return out;
  }

  private async lookup(dir: Inode, name: string): Promise<Inode | undefined> {
    const entry = (await this.entries(dir)).get(name);
    return entry ? this.inode(entry.ino) : undefined;
  }

  protected async linkTarget(node: Inode): Promise<string> {
    if (node.size > 4096) throw new DiskProbeError(ErrorCode.CORRUPT, `symbolic link of ${node.size} bytes (PATH_MAX is 4096)`, this.where('ext4_inode', undefined, 'i_size'));
    const eaBlocks = node.fileAcl ? this.sb.blockSize / 512 : 0;
    // A fast symlink keeps its target in i_block and has no data blocks (the kernel's test).
    const fast = !(node.flags & InodeFlag.INLINE_DATA) && node.allocated / 512 - eaBlocks === 0 && node.size < In.I_BLOCK_SIZE;
    const bytes = fast ? node.iblock.subarray(0, node.size) : await this.readData(node, 0, node.size);
    return this.decoder.decode(bytes);
  }

  // -------------------------------------------------------------------------------------------
  // The FileSystem interface

  protected statOf(n: Inode): Stats {
    const type = typeOf(n.mode);
    const stats: Stats = {
      ino: n.ino,
      type,
      mode: n.mode,
      permissions: n.mode & 0o7777,
      uid: n.uid,
      gid: n.gid,
      size: n.size,
      nlink: n.links,
      atime: n.atime,
      mtime: n.mtime,
      ctime: n.ctime,
      birthtime: n.crtime,
      allocated: n.allocated,
      flags: inodeFlagNames(n.flags),
      rawFlags: n.flags,
    };
    if (type === 'char' || type === 'block') {
      const v = new DataView(n.iblock.buffer, n.iblock.byteOffset, 8);
      const old = v.getUint32(0, true);
      const dev = old !== 0 ? old : v.getUint32(4, true);
      stats.rdev = old !== 0 ? { major: (dev >>> 8) & 0xff, minor: dev & 0xff } : { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
    }
    return stats;
  }

  async statfs(): Promise<FsStats> {
    const sb = this.sb;
    const v = new DataView(sb.raw.buffer, sb.raw.byteOffset, sb.raw.byteLength);
    const time = (lo: number, hiAt: number): Timestamp | undefined => {
      const sec = v.getUint32(lo, true) + sb.raw[hiAt]! * 0x1_0000_0000;
      return sec === 0 ? undefined : { sec, nsec: 0 };
    };
    const lastMounted = cString(sb.raw, Sb.s_last_mounted, 64);
    return {
      type: this.type,
      blockSize: sb.blockSize,
      blocks: sb.blocks,
      freeBlocks: sb.freeBlocks,
      reservedBlocks: sb.reservedBlocks,
      inodes: sb.inodes,
      freeInodes: sb.freeInodes,
      label: cString(sb.raw, Sb.s_volume_name, 16) || undefined,
      uuid: uuidString(sb.raw, Sb.s_uuid),
      features: featureNames(sb.compat, sb.incompat, sb.roCompat),
      state: {
        clean: (sb.state & State.VALID) !== 0 && !(sb.state & State.ERROR) && !(sb.incompat & Incompat.RECOVER),
        errors: (sb.state & State.ERROR) !== 0,
        orphans: (sb.state & State.ORPHAN) !== 0 || v.getUint32(Sb.s_last_orphan, true) !== 0,
        needsRecovery: (sb.incompat & Incompat.RECOVER) !== 0,
      },
      lastMountTime: time(Sb.s_mtime, Sb.s_mtime_hi),
      lastMountPath: lastMounted || undefined,
      lastWriteTime: time(Sb.s_wtime, Sb.s_wtime_hi),
      createdTime: time(Sb.s_mkfs_time, Sb.s_mkfs_time_hi),
      facts: {
        revision: sb.revision,
        inodeSize: sb.inodeSize,
        blocksPerGroup: sb.blocksPerGroup,
        inodesPerGroup: sb.inodesPerGroup,
        groups: sb.groups,
        descriptorSize: sb.descSize,
        mountCount: v.getUint16(Sb.s_mnt_count, true),
        maxMountCount: v.getInt16(Sb.s_max_mnt_count, true),
        firstDataBlock: sb.firstDataBlock,
        superblockOffset: sb.offset,
        journalInode: v.getUint32(Sb.s_journal_inum, true) || undefined,
        hashSeed: uuidString(sb.raw, Sb.s_hash_seed),
      },
    };
  }
}

/** Decodes, then validates, the superblock at `at`. */
async function readSuper(dev: BlockDevice, at: number, signal?: AbortSignal): Promise<Super> {
  const w = (field: string, value: unknown, expected: string) => ({ layer: 'fs' as const, format: 'ext', device: dev.label, structure: 'ext4_super_block', field, offset: at, value, expected });
  if (at + SUPERBLOCK_SIZE > dev.size) throw new DiskProbeError(ErrorCode.TRUNCATED, 'the device ends before the superblock', { layer: 'fs', format: 'ext', device: dev.label, structure: 'ext4_super_block', offset: at });
  const raw = copyBytes(await dev.read(at, SUPERBLOCK_SIZE, signal));
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (o: number) => v.getUint32(o, true);
  if (v.getUint16(Sb.s_magic, true) !== EXT_MAGIC) throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'no ext magic', w('s_magic', v.getUint16(Sb.s_magic, true), '0xef53'));
  const incompat = u32(Sb.s_feature_incompat);
  const roCompat = u32(Sb.s_feature_ro_compat);
  const is64 = (incompat & Incompat.BIT64) !== 0;
  const logBlock = u32(Sb.s_log_block_size);
  if (logBlock > 6) throw new DiskProbeError(ErrorCode.CORRUPT, 'block size out of range', w('s_log_block_size', logBlock, '0..6 (1 KiB to 64 KiB)'));
  const blockSize = 1024 << logBlock;
  const blocks = join64(u32(Sb.s_blocks_count_lo), is64 ? u32(Sb.s_blocks_count_hi) : 0);
  const inodes = u32(Sb.s_inodes_count);
  const blocksPerGroup = u32(Sb.s_blocks_per_group);
  const inodesPerGroup = u32(Sb.s_inodes_per_group);
  const firstDataBlock = u32(Sb.s_first_data_block);
  const revision = u32(Sb.s_rev_level);
  const inodeSize = revision === 0 ? 128 : v.getUint16(Sb.s_inode_size, true);
  const descSize = is64 ? v.getUint16(Sb.s_desc_size, true) : Gd.MIN_SIZE;
  if (!Number.isSafeInteger(blocks) || blocks < 1) throw new DiskProbeError(ErrorCode.LIMIT, 'block count does not fit', w('s_blocks_count', blocks, '< 2^53'));
  if (blocksPerGroup < 8 || blocksPerGroup > blockSize * 8) throw new DiskProbeError(ErrorCode.CORRUPT, 'blocks per group out of range', w('s_blocks_per_group', blocksPerGroup, `8..${blockSize * 8}`));
  if (inodesPerGroup < 1 || inodesPerGroup > blockSize * 8) throw new DiskProbeError(ErrorCode.CORRUPT, 'inodes per group out of range', w('s_inodes_per_group', inodesPerGroup, `1..${blockSize * 8}`));
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'inode size out of range', w('s_inode_size', inodeSize, `a power of two, 128..${blockSize}`));
  if (descSize < Gd.MIN_SIZE || descSize > 1024 || (descSize & (descSize - 1)) !== 0 || (is64 && descSize < Gd.SIZE_64)) throw new DiskProbeError(ErrorCode.CORRUPT, 'group descriptor size out of range', w('s_desc_size', descSize, is64 ? '64..1024, a power of two' : '32'));
  if (firstDataBlock >= blocks || firstDataBlock > 1) throw new DiskProbeError(ErrorCode.CORRUPT, 'first data block out of range', w('s_first_data_block', firstDataBlock, '0 or 1'));
  const groups = Math.ceil((blocks - firstDataBlock) / blocksPerGroup);
  if (inodes > groups * inodesPerGroup || inodes < 11) throw new DiskProbeError(ErrorCode.CORRUPT, 'inode count does not match the groups', w('s_inodes_count', inodes, `11..${groups * inodesPerGroup}`));
  const uuid = raw.subarray(Sb.s_uuid, Sb.s_uuid + 16);
  const csumSeed = incompat & Incompat.CSUM_SEED ? u32(Sb.s_checksum_seed) : crc32cUpdate(0xffffffff, uuid);
  return {
    raw,
    offset: at,
    blockSize,
    blocks,
    reservedBlocks: join64(u32(Sb.s_r_blocks_count_lo), is64 ? u32(Sb.s_r_blocks_count_hi) : 0),
    freeBlocks: join64(u32(Sb.s_free_blocks_count_lo), is64 ? u32(Sb.s_free_blocks_count_hi) : 0),
    inodes,
    freeInodes: u32(Sb.s_free_inodes_count),
    firstDataBlock,
    blocksPerGroup,
    inodesPerGroup,
    inodeSize,
    descSize,
    groups,
    compat: u32(Sb.s_feature_compat),
    incompat,
    roCompat,
    firstMetaBg: u32(Sb.s_first_meta_bg),
    state: v.getUint16(Sb.s_state, true),
    revision,
    csumSeed,
  };
}

/** Whether `head` (a volume's first 2 KiB) holds an ext superblock. */
export function isExt(head: Uint8Array): boolean {
  return hasBytes(head, SUPERBLOCK_OFFSET + Sb.s_magic, [0x53, 0xef]);
}

