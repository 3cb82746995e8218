/**
 * FAT12, FAT16 and FAT32. Reference: Microsoft "FAT: General Overview of On-Disk Format"
 * (fatgen103): the BPB and its FAT32 extension, the FAT type from the count of clusters, FAT
 * entries (12, 16 and 28 bits), directory entries (32 bytes; 0xE5 deleted, 0x00 the end),
 * long-name entries (attribute 0x0F, 13 UTF-16 characters each, with the checksum of their
 * 8.3 name), FSInfo. Names are compared without regard to case, as Windows does; 8.3 names
 * with Windows NT's lower-case flags (byte 12) are shown in lower case. Times are read as UTC.
 */
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { viewOf } from '../../util/bytes.js';
import { InodeFileSystem, metadataCache } from '../inode-fs.js';
import type { Tree } from '../path.js';
import type { DirEntry, FsStats, Stats } from '../types.js';

/** The most a FAT directory can hold: 65,536 entries of 32 bytes (Microsoft's FAT specification). */
const MAX_FAT_DIRECTORY_BYTES = 65536 * 32;

const DIR_ENTRY = 32;
const ATTR = { READ_ONLY: 0x01, HIDDEN: 0x02, SYSTEM: 0x04, VOLUME_ID: 0x08, DIRECTORY: 0x10, ARCHIVE: 0x20, LONG_NAME: 0x0f } as const;

interface FatNode {
  mode: number;
  size: number;
  /** First cluster (0: an empty file; for the FAT12/16 root, -1). */
  cluster: number;
  attr: number;
  name: string;
  mtime: { sec: number; nsec: number };
  /** A stable number for `ino`: the byte offset of its directory entry (the root: 1). */
  ino: number;
}

interface Geometry {
  kind: 'fat12' | 'fat16' | 'fat32';
  bytesPerSector: number;
  clusterBytes: number;
  reserved: number;
  fats: number;
  fatBytes: number;
  rootEntries: number;
  rootAt: number;
  dataAt: number;
  clusters: number;
  rootCluster: number;
  fsInfo: number;
  label?: string;
  serial: number;
}

/** The 8.3 name's checksum that its long-name entries carry. */
function shortChecksum(name: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = (((sum & 1) << 7) + (sum >> 1) + name[i]!) & 0xff;
  return sum;
}

function dosTime(date: number, time: number): { sec: number; nsec: number } {
  if (date === 0) return { sec: 0, nsec: 0 };
  const y = 1980 + (date >> 9);
  const mo = ((date >> 5) & 15) - 1;
  const d = date & 31;
  const ms = Date.UTC(y, mo, d, time >> 11, (time >> 5) & 63, (time & 31) * 2);
  return { sec: Math.floor(ms / 1000), nsec: 0 };
}

function cp437(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : '\ufffd';
  return s;
}

export class FatFileSystem extends InodeFileSystem<FatNode> {
  readonly type: string;
  override readonly caseInsensitive = true;
  protected readonly format = 'fat';
  protected readonly tree: Tree<FatNode>;
  private readonly fat: Promise<Uint8Array>;
  private readonly dirs = new Map<number, Promise<{ names: Map<string, DirEntry & { node: FatNode }>; aliases: Map<string, FatNode> }>>();
  private readonly rootNode: FatNode;

  private constructor(
    private readonly dev: BlockDevice,
    private readonly meta: BlockDevice,
    private readonly g: Geometry,
  ) {
    super(dev.label);
    this.type = 'vfat';
    this.rootNode = { mode: 0o40755, size: 0, cluster: g.kind === 'fat32' ? g.rootCluster : -1, attr: ATTR.DIRECTORY, name: '/', mtime: { sec: 0, nsec: 0 }, ino: 1 };
    this.fat = meta.read(g.reserved * g.bytesPerSector, g.fatBytes);
    this.fat.catch(() => undefined);
    this.tree = {
      root: async () => this.rootNode,
      lookup: async (dir, name) => {
        const l = await this.listing(dir);
        const key = name.toLowerCase();
        // The 8.3 alias of a long name finds the file too.
        return l.names.get(key)?.node ?? l.aliases.get(key);
      },
      isDirectory: (n) => (n.attr & ATTR.DIRECTORY) !== 0,
      isSymlink: () => false,
      readlink: async () => '',
    };
  }

  static async open(dev: BlockDevice, signal?: AbortSignal): Promise<FatFileSystem> {
    const where: Where = { layer: 'fs', format: 'fat', device: dev.label, structure: 'BPB' };
    if (dev.size < 512) throw new DiskProbeError(ErrorCode.TRUNCATED, 'shorter than a boot sector', where);
    const b = await dev.read(0, 512, signal);
    const v = viewOf(b);
    const bps = v.getUint16(11, true);
    const spc = v.getUint8(13);
    const reserved = v.getUint16(14, true);
    const fats = v.getUint8(16);
    const rootEntries = v.getUint16(17, true);
    const total = v.getUint16(19, true) || v.getUint32(32, true);
    const fatSectors = v.getUint16(22, true) || v.getUint32(36, true);
    const bad = (field: string, offset: number, value: number, expected: string): never => {
      throw new DiskProbeError(ErrorCode.CORRUPT, `BPB.${field} = ${value} (expected ${expected})`, { ...where, field, offset, value, expected });
    };
    if (![512, 1024, 2048, 4096].includes(bps)) bad('BytsPerSec', 11, bps, '512, 1024, 2048 or 4096');
    if (!spc || (spc & (spc - 1)) !== 0) bad('SecPerClus', 13, spc, 'a power of two from 1 to 128');
    if (!reserved) bad('RsvdSecCnt', 14, reserved, '>= 1');
    if (!fats || fats > 4) bad('NumFATs', 16, fats, '1 to 4');
    if (!fatSectors) bad('FATSz', 22, fatSectors, '>= 1');
    const rootSectors = Math.ceil((rootEntries * DIR_ENTRY) / bps);
    const dataStart = reserved + fats * fatSectors + rootSectors;
    if (!total || dataStart >= total) bad('TotSec', 19, total, `more than the ${dataStart} sectors before the data`);
    const clusters = Math.floor((total - dataStart) / spc);
    const kind = clusters < 4085 ? 'fat12' : clusters < 65525 ? 'fat16' : 'fat32';
    const fatBytes = fatSectors * bps;
    const needed = kind === 'fat12' ? Math.ceil(((clusters + 2) * 3) / 2) : (clusters + 2) * (kind === 'fat16' ? 2 : 4);
    if (fatBytes < needed) bad('FATSz', 22, fatSectors, `at least ${Math.ceil(needed / bps)} sectors for ${clusters} clusters`);
    if (fatBytes > 256 * 1024 * 1024) throw new DiskProbeError(ErrorCode.LIMIT, `a FAT of ${fatBytes} bytes`, { ...where, field: 'FATSz', offset: 36 });
    const fat32 = kind === 'fat32';
    const labelAt = fat32 ? 71 : 43;
    const serialAt = fat32 ? 67 : 39;
    const extended = v.getUint8(fat32 ? 66 : 38) === 0x29;
    const g: Geometry = {
      kind,
      bytesPerSector: bps,
      clusterBytes: bps * spc,
      reserved,
      fats,
      fatBytes,
      rootEntries,
      rootAt: (reserved + fats * fatSectors) * bps,
      dataAt: dataStart * bps,
      clusters,
      rootCluster: fat32 ? v.getUint32(44, true) : 0,
      fsInfo: fat32 ? v.getUint16(48, true) : 0,
      serial: extended ? v.getUint32(serialAt, true) : 0,
    };
    if (extended) {
      const l = cp437(b.subarray(labelAt, labelAt + 11)).trimEnd();
      if (l && l !== 'NO NAME') g.label = l;
    }
    if (fat32 && (g.rootCluster < 2 || g.rootCluster >= clusters + 2)) bad('RootClus', 44, g.rootCluster, `2 to ${clusters + 1}`);
    const fs = new FatFileSystem(dev, metadataCache(dev, g.clusterBytes), g);
    // The root directory's label entry wins over the BPB's (Windows writes both; mlabel too).
    const root = await fs.rawEntries(fs.rootNode, signal);
    const vol = root.find((e) => e.attr === ATTR.VOLUME_ID);
    if (vol) fs.g.label = vol.raw.trimEnd();
    if (b[510] !== 0x55 || b[511] !== 0xaa) fs.findings.push({ severity: 'warning', code: 'fat.boot-signature', message: 'the boot sector lacks its 55 AA signature', offset: 510 });
    return fs;
  }

  /** The next cluster of a chain, or undefined at its end. */
  private next(fat: Uint8Array, c: number): number | undefined {
    let n: number;
    if (this.g.kind === 'fat12') {
      const at = Math.floor((c * 3) / 2);
      const w = fat[at]! | (fat[at + 1]! << 8);
      n = c & 1 ? w >> 4 : w & 0xfff;
      if (n >= 0xff8) return undefined;
      if (n === 0xff7) throw this.chainError(c, 'a cluster marked bad');
    } else if (this.g.kind === 'fat16') {
      n = fat[c * 2]! | (fat[c * 2 + 1]! << 8);
      if (n >= 0xfff8) return undefined;
      if (n === 0xfff7) throw this.chainError(c, 'a cluster marked bad');
    } else {
      n = (fat[c * 4]! | (fat[c * 4 + 1]! << 8) | (fat[c * 4 + 2]! << 16) | (fat[c * 4 + 3]! << 24)) & 0x0fffffff;
      if (n >= 0x0ffffff8) return undefined;
      if (n === 0x0ffffff7) throw this.chainError(c, 'a cluster marked bad');
    }
    if (n < 2 || n >= this.g.clusters + 2) throw this.chainError(c, `points at cluster ${n}, outside 2..${this.g.clusters + 1}`);
    return n;
  }

  private chainError(c: number, why: string): DiskProbeError {
    return new DiskProbeError(ErrorCode.CORRUPT, `the cluster chain at cluster ${c} ${why}`, { layer: 'fs', format: 'fat', device: this.label, structure: 'FAT', value: c });
  }

  /** A chain's clusters, from `first`, at most `limit` of them (loops are errors). */
  private async chain(first: number, limit: number): Promise<number[]> {
    const fat = await this.fat;
    const out: number[] = [];
    if (first < 2 || first >= this.g.clusters + 2) throw this.chainError(first, `starts outside 2..${this.g.clusters + 1}`);
    const seen = new Set<number>();
    for (let c: number | undefined = first; c !== undefined; c = this.next(fat, c)) {
      if (seen.has(c)) throw this.chainError(first, `loops back to cluster ${c}`);
      seen.add(c);
      out.push(c);
      if (out.length >= limit) break;
    }
    return out;
  }

  private clusterAt(c: number): number {
    return this.g.dataAt + (c - 2) * this.g.clusterBytes;
  }

  /** A directory's raw bytes. */
  private async directoryBytes(dir: FatNode, signal?: AbortSignal): Promise<Uint8Array> {
    if (dir.cluster === -1) return this.meta.read(this.g.rootAt, this.g.rootEntries * DIR_ENTRY, signal);
    if (dir.cluster === 0) return new Uint8Array(0);
    // FAT allows 65,536 entries of 32 bytes in a directory: a longer chain is damage, not a directory.
    const bytes = Math.min(this.maxDirectoryBytes, MAX_FAT_DIRECTORY_BYTES);
    const most = Math.max(1, Math.ceil(bytes / this.g.clusterBytes));
    const clusters = await this.chain(dir.cluster, most + 1);
    if (clusters.length > most) {
      const why = bytes === MAX_FAT_DIRECTORY_BYTES ? 'FAT allows 65,536 entries of 32 bytes' : `maxDirectoryBytes is ${this.maxDirectoryBytes}`;
      throw new DiskProbeError(ErrorCode.LIMIT, `directory cluster chain longer than ${most} clusters (${why})`, { layer: 'fs', format: 'vfat', device: this.label, structure: 'directory cluster chain', offset: this.clusterAt(dir.cluster) });
    }
    const out = new Uint8Array(clusters.length * this.g.clusterBytes);
    await Promise.all(clusters.map(async (c, i) => out.set(await this.meta.read(this.clusterAt(c), this.g.clusterBytes, signal), i * this.g.clusterBytes)));
    return out;
  }

  /** A directory's entries, long names joined to their 8.3 entries. */
  private async rawEntries(dir: FatNode, signal?: AbortSignal): Promise<{ name: string; short: string; raw: string; attr: number; node: FatNode; offset: number }[]> {
    const bytes = await this.directoryBytes(dir, signal);
    const v = viewOf(bytes);
    const out: { name: string; short: string; raw: string; attr: number; node: FatNode; offset: number }[] = [];
    let lfn: string[] = [];
    let lfnSum = -1;
    for (let at = 0; at + DIR_ENTRY <= bytes.length; at += DIR_ENTRY) {
      const first = bytes[at]!;
      if (first === 0) break;
      if (first === 0xe5) {
        lfn = [];
        continue;
      }
      const attr = bytes[at + 11]!;
      if ((attr & 0x3f) === ATTR.LONG_NAME) {
        const ord = first & 0x1f;
        if (first & 0x40) lfn = [];
        let part = '';
        for (const [o, n] of [
          [1, 5],
          [14, 6],
          [28, 2],
        ] as const) {
          for (let k = 0; k < n; k++) part += String.fromCharCode(v.getUint16(at + o + 2 * k, true));
        }
        lfn[ord - 1] = part;
        lfnSum = bytes[at + 13]!;
        continue;
      }
      const raw = bytes.subarray(at, at + 11);
      const base = cp437(raw.subarray(0, 8)).trimEnd();
      const ext = cp437(raw.subarray(8, 11)).trimEnd();
      const nt = bytes[at + 12]!;
      const b = nt & 0x08 ? base.toLowerCase() : base;
      const e = nt & 0x10 ? ext.toLowerCase() : ext;
      const short = (first === 0x05 ? '\u00e5' + b.slice(1) : b) + (e ? `.${e}` : '');
      let name = short;
      if (lfn.length && lfnSum === shortChecksum(raw)) {
        const joined = lfn.join('');
        const end = joined.indexOf('\0');
        name = end >= 0 ? joined.slice(0, end) : joined;
      } else if (lfn.length) this.note('fat.lfn-checksum', `a long name whose checksum is not its 8.3 entry's (${short}): the 8.3 name is used`, at);
      lfn = [];
      const cluster = (v.getUint16(at + 20, true) << 16) | v.getUint16(at + 26, true);
      const isDir = (attr & ATTR.DIRECTORY) !== 0;
      const node: FatNode = {
        mode: isDir ? 0o40755 : attr & ATTR.READ_ONLY ? 0o100444 : 0o100644,
        size: isDir ? 0 : v.getUint32(at + 28, true),
        cluster: this.g.kind !== 'fat32' ? cluster & 0xffff : cluster,
        attr,
        name,
        mtime: dosTime(v.getUint16(at + 24, true), v.getUint16(at + 22, true)),
        ino: (dir.cluster === -1 ? this.g.rootAt : this.clusterAt(Math.max(2, dir.cluster))) + at,
      };
      // ".." of a first-level directory names cluster 0: the root.
      if (isDir && node.cluster === 0 && name === '..') node.cluster = this.rootNode.cluster;
      out.push({ name, short, raw: cp437(raw), attr, node, offset: at });
    }
    return out;
  }

  private listing(dir: FatNode): Promise<{ names: Map<string, DirEntry & { node: FatNode }>; aliases: Map<string, FatNode> }> {
    const key = dir.cluster;
    let p = this.dirs.get(key);
    if (!p) {
      p = this.rawEntries(dir).then((list) => {
        const names = new Map<string, DirEntry & { node: FatNode }>();
        const aliases = new Map<string, FatNode>();
        for (const e of list) {
          if (e.attr & ATTR.VOLUME_ID || e.name === '.' || e.name === '..') continue;
          names.set(e.name.toLowerCase(), { name: e.name, ino: e.node.ino, type: e.attr & ATTR.DIRECTORY ? 'directory' : 'file', node: e.node });
          if (e.short.toLowerCase() !== e.name.toLowerCase()) aliases.set(e.short.toLowerCase(), e.node);
        }
        return { names, aliases };
      });
      p.catch(() => this.dirs.delete(key));
      this.dirs.set(key, p);
      if (this.dirs.size > 4096) this.dirs.delete(this.dirs.keys().next().value!);
    }
    return p;
  }

  protected statOf(n: FatNode): Stats {
    const flags = [n.attr & ATTR.READ_ONLY && 'readonly', n.attr & ATTR.HIDDEN && 'hidden', n.attr & ATTR.SYSTEM && 'system', n.attr & ATTR.ARCHIVE && 'archive'].filter((x): x is string => !!x);
    return { ino: n.ino, type: n.attr & ATTR.DIRECTORY ? 'directory' : 'file', mode: n.mode, permissions: n.mode & 0o7777, uid: 0, gid: 0, size: n.size, nlink: 1, atime: n.mtime, mtime: n.mtime, ctime: n.mtime, flags, rawFlags: n.attr };
  }

  protected async entries(dir: FatNode): Promise<Map<string, DirEntry>> {
    const { names } = await this.listing(dir);
    return new Map([...names.entries()].map(([k, e]) => [k, { name: e.name, ino: e.ino, type: e.type }]));
  }

  protected async linkTarget(): Promise<string> {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'FAT has no symbolic links', { layer: 'fs', format: 'fat', device: this.label });
  }

  protected async readData(n: FatNode, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    if (!length) return out;
    const cb = this.g.clusterBytes;
    const clusters = await this.chain(n.cluster, Math.ceil((offset + length) / cb));
    if (clusters.length * cb < offset + length) throw this.chainError(n.cluster, `ends after ${clusters.length} clusters, before the file's ${n.size} bytes`);
    const work: Promise<void>[] = [];
    for (let pos = offset; pos < offset + length; ) {
      const i = Math.floor(pos / cb);
      const inCluster = pos - i * cb;
      // Contiguous clusters are read together.
      let run = 1;
      while (i + run < clusters.length && clusters[i + run] === clusters[i]! + run && (i + run) * cb < offset + length) run++;
      const n2 = Math.min(run * cb - inCluster, offset + length - pos);
      const at = pos - offset;
      work.push(this.dev.read(this.clusterAt(clusters[i]!) + inCluster, n2, signal).then((b) => out.set(b, at)));
      pos += n2;
    }
    await Promise.all(work);
    return out;
  }

  async statfs(): Promise<FsStats> {
    const fat = await this.fat;
    let free = 0;
    for (let c = 2; c < this.g.clusters + 2; c++) {
      let e: number;
      if (this.g.kind === 'fat12') {
        const at = Math.floor((c * 3) / 2);
        const w = fat[at]! | (fat[at + 1]! << 8);
        e = c & 1 ? w >> 4 : w & 0xfff;
      } else if (this.g.kind === 'fat16') e = fat[c * 2]! | (fat[c * 2 + 1]! << 8);
      else e = (fat[c * 4]! | (fat[c * 4 + 1]! << 8) | (fat[c * 4 + 2]! << 16) | (fat[c * 4 + 3]! << 24)) & 0x0fffffff;
      if (e === 0) free++;
    }
    const s: FsStats = {
      type: 'vfat',
      blockSize: this.g.clusterBytes,
      blocks: this.g.clusters,
      freeBlocks: free,
      reservedBlocks: 0,
      inodes: 0,
      freeInodes: 0,
      features: [this.g.kind],
      state: { clean: true, errors: false, orphans: false, needsRecovery: false },
      facts: { fatType: this.g.kind, bytesPerSector: this.g.bytesPerSector, clusterBytes: this.g.clusterBytes, fats: this.g.fats, rootEntries: this.g.rootEntries },
    };
    if (this.g.label) s.label = this.g.label;
    if (this.g.serial) s.uuid = `${(this.g.serial >>> 16).toString(16).padStart(4, '0')}-${(this.g.serial & 0xffff).toString(16).padStart(4, '0')}`.toUpperCase();
    return s;
  }
}
