/**
 * NTFS, read without ntfs-3g. The boot sector (or its backup at the volume's end) locates the
 * MFT; every MFT record and index block has its update sequence checked; attributes are read
 * resident or through runlists (sparse runs, negative deltas, extents spread over records by an
 * $ATTRIBUTE_LIST); directories are walked through their $I30 B+ tree ($INDEX_ROOT and the
 * `INDX` blocks of $INDEX_ALLOCATION); names are compared through the volume's $UpCase table.
 * Layout notes: ./layout.ts.
 *
 * Decisions where the on-disk format leaves a choice to the reader:
 * - Metadata files (MFT records 0–15: `$MFT`, `$LogFile`, …) are found by lookup but not listed
 *   by `readdir`, as ntfs-3g and Windows hide them. DOS 8.3 names are found by lookup but listed
 *   only through the long name they shadow.
 * - Symbolic links and junctions are symlinks; an absolute target (`C:\dir`) is taken to point
 *   into this volume, whose root stands for the drive. WSL symlinks and special files
 *   (`IO_REPARSE_TAG_LX_*`) and Interix files as ntfs-3g writes and reads them (system files
 *   that are empty: FIFOs; one byte long: sockets; starting `IntxLNK`, `IntxCHR`, `IntxBLK`:
 *   symlinks and devices) have their POSIX types, so a tree copied in by ntfs-3g reads back as
 *   it was written. sleuthkit and Windows show those as regular files.
 * - A named stream is addressed as `file:stream` (and `file:stream:$DATA`), as Windows does.
 * - Encrypted (EFS) files, Windows Overlay Filter (WOF) compressed files and deduplicated files
 *   are named in `stat` flags and refused on read with the reason (E_ENCRYPTED, E_UNSUPPORTED).
 * - Permissions are not mapped from security descriptors: files are 0644 (0444 when read-only),
 *   directories 0755, owners 0.
 */
import type { BlockDevice } from '../../device/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { Lru } from '../../util/lru.js';
import { viewOf } from '../../util/bytes.js';
import { InodeFileSystem, metadataCache } from '../inode-fs.js';
import type { Tree } from '../path.js';
import type { DirEntry, FileType, FsStats, Stats, Timestamp } from '../types.js';
import {
  applyFixups,
  AT,
  ATTR_FLAG,
  type Attribute,
  FA,
  FA_NAMES,
  filetime,
  type Geometry,
  lznt1,
  MFT_FLAG,
  type MftRecord,
  NS,
  parseBoot,
  parseRecord,
  parseReparse,
  REPARSE,
  type ReparseInfo,
  type Run,
  u32At,
  utf16Chars,
} from './layout.js';

/** Largest attribute list, reparse point, or index read whole (bytes). */
const MAX_METADATA_ATTRIBUTE = 16 * 1024 * 1024;
/** Bytes of the MFT read at once. */
const MFT_CHUNK = 256 * 1024;
/** Largest $INDEX_ALLOCATION read in one piece; larger ones are read block by block. */
const WHOLE_INDEX_BYTES = 32 * 1024 * 1024;
/** Deepest index B+ tree walked (real trees have a handful of levels). */
const MAX_INDEX_DEPTH = 32;
/** Most extension records one file may spread over. */
const MAX_EXTENSIONS = 4096;
/** First MFT record of user files; the ones below are the volume's metadata files. */
const FIRST_USER_RECORD = 16;
const ROOT = 5;

/** A $FILE_NAME attribute or index key. */
interface FileName {
  parent: number;
  name: string;
  ns: number;
  flags: number;
  reparseTag: number;
}

/** A file: its base record's attributes, merged over its extension records. */
interface Entry {
  ino: number;
  seq: number;
  recordFlags: number;
  attrs: Attribute[];
  names: FileName[];
  fileAttrs: number;
  times: { created: Timestamp; modified: Timestamp; changed: Timestamp; accessed: Timestamp };
  reparse?: ReparseInfo;
  /** Interix (ntfs-3g) special files: their type and target or device. */
  interix?: { type: FileType; target?: string; rdev?: { major: number; minor: number } };
  /** WSL's POSIX metadata, from the extended attributes `$LXUID`, `$LXGID`, `$LXMOD`, `$LXDEV`. */
  lx?: { uid?: number; gid?: number; mode?: number; rdev?: { major: number; minor: number } };
  at: number;
}

interface NtfsNode {
  ino: number;
  mode: number;
  size: number;
  type: FileType;
  entry: Entry;
  /** The $DATA stream read (`` for the unnamed one). */
  stream: string;
}

interface IndexKey extends FileName {
  ino: number;
  seq: number;
  size: number;
}

interface Listing {
  /** What readdir returns, in index order. */
  list: DirEntry[];
  /** Every name (DOS and metadata files too), by its upper-cased form. */
  byUpper: Map<string, IndexKey[]>;
}

const MODE: Record<FileType, number> = {
  file: 0o100644,
  directory: 0o40755,
  symlink: 0o120777,
  char: 0o20644,
  block: 0o60644,
  fifo: 0o10644,
  socket: 0o140755,
  unknown: 0o100644,
};

function typeOfTag(tag: number, isDir: boolean): FileType {
  switch (tag) {
    case REPARSE.SYMLINK:
    case REPARSE.MOUNT_POINT:
    case REPARSE.LX_SYMLINK:
      return 'symlink';
    case REPARSE.LX_FIFO:
      return 'fifo';
    case REPARSE.LX_CHR:
      return 'char';
    case REPARSE.LX_BLK:
      return 'block';
    case REPARSE.AF_UNIX:
      return 'socket';
    default:
      return isDir ? 'directory' : 'file';
  }
}

function u48(v: DataView, at: number): number {
  return v.getUint16(at + 4, true) * 0x1_0000_0000 + v.getUint32(at, true);
}

/** Parses a $FILE_NAME value or index key at `at` of `b` (length checked by the caller). */
function fileName(b: Uint8Array, at: number, limit: number): FileName | undefined {
  if (at + 0x42 > limit) return undefined;
  const chars = b[at + 0x40]!;
  if (at + 0x42 + chars * 2 > limit) return undefined;
  return { parent: (b[at + 4]! | (b[at + 5]! << 8)) * 0x1_0000_0000 + u32At(b, at), name: utf16Chars(b, at + 0x42, chars), ns: b[at + 0x41]!, flags: u32At(b, at + 0x38), reparseTag: u32At(b, at + 0x3c) };
}

export class NtfsFileSystem extends InodeFileSystem<NtfsNode> {
  readonly type = 'ntfs';
  override readonly caseInsensitive = true;
  protected readonly format = 'ntfs';
  protected readonly tree: Tree<NtfsNode>;
  private readonly entries_ = new Lru<number, Promise<Entry>>(2048);
  private readonly listings = new Lru<number, Promise<Listing>>(1_000_000);
  private upcase: Uint16Array | undefined;
  private scratch: Uint8Array | undefined;
  /** Raw 256 KiB pieces of the MFT, by index (`record`). */
  private readonly mftChunks = new Lru<number, Promise<Uint8Array>>(64);
  /** The same chunks once read, for reads without an await. */
  private readonly mftReady = new Lru<number, Uint8Array>(64);
  private mft!: Attribute;
  private mftRecords = 0;
  private volumeLabel: string | undefined;
  private version = '';
  private volumeFlags = 0;
  private logClean: boolean | undefined;
  private free: Promise<{ clusters: number; records: number }> | undefined;
  private readonly cs: number;

  private constructor(
    private readonly dev: BlockDevice,
    private readonly meta: BlockDevice,
    readonly geometry: Geometry,
  ) {
    super(dev.label);
    this.cs = geometry.clusterSize;
    this.tree = {
      root: () => this.node(ROOT),
      lookup: (dir, name) => this.lookup(dir, name),
      isDirectory: (n) => n.type === 'directory',
      isSymlink: (n) => n.type === 'symlink',
      readlink: (n) => this.linkTarget(n),
    };
  }

  private where(structure?: string, offset?: number): Where {
    const w: Where = { layer: 'fs', format: 'ntfs', device: this.label };
    if (structure !== undefined) w.structure = structure;
    if (offset !== undefined) w.offset = offset;
    return w;
  }

  private corrupt(reason: string, structure: string, offset?: number, value?: unknown): DiskProbeError {
    return new DiskProbeError(ErrorCode.CORRUPT, reason, { ...this.where(structure, offset), value });
  }

  static async open(dev: BlockDevice, signal?: AbortSignal): Promise<NtfsFileSystem> {
    const where: Where = { layer: 'fs', format: 'ntfs', device: dev.label };
    if (dev.size < 512) throw new DiskProbeError(ErrorCode.TRUNCATED, 'shorter than a boot sector', { ...where, structure: 'NTFS boot sector' });
    let g: Geometry;
    let backupUsed: number | undefined;
    try {
      g = parseBoot(await dev.read(0, 512, signal), where, dev.size);
    } catch (e) {
      if (!(e instanceof DiskProbeError)) throw e;
      // The backup boot sector is the volume's last sector: try the device's last 512-byte and
      // 4096-byte sectors.
      let found: Geometry | undefined;
      for (const s of [512, 4096]) {
        if (dev.size < 2 * s) continue;
        const at = dev.size - s;
        try {
          found = parseBoot(await dev.read(at, 512, signal), { ...where, offset: at }, dev.size);
          backupUsed = at;
          break;
        } catch (e2) {
          if (!(e2 instanceof DiskProbeError)) throw e2;
        }
      }
      if (!found) throw e;
      g = found;
    }
    const fs = new NtfsFileSystem(dev, metadataCache(dev, Math.max(g.clusterSize, g.recordSize)), g);
    if (backupUsed !== undefined) fs.findings.push({ severity: 'error', code: 'ntfs.boot-sector', message: `the boot sector is damaged; the backup at the volume's end (offset ${backupUsed}) was used`, offset: 0 });
    await fs.bootstrap(signal);
    return fs;
  }

  /** Reads $MFT's own record, then $Volume, $UpCase and $LogFile's restart area. */
  private async bootstrap(signal?: AbortSignal): Promise<void> {
    const g = this.geometry;
    const at = g.mftLcn * g.clusterSize;
    const raw = await this.meta.read(at, g.recordSize, signal);
    const rec0 = parseRecord(applyFixups(raw, 'FILE', this.where('MFT record 0', at)), 0, at, g.clusters, this.where());
    const data = rec0.attrs.find((a) => a.type === AT.DATA && a.name === '' && !a.resident && a.startVcn === 0);
    if (!data) throw this.corrupt('$MFT has no non-resident $DATA attribute', 'MFT record 0', at);
    this.mft = data;
    this.mftRecords = Math.floor(data.size / g.recordSize);
    if (this.mftRecords < FIRST_USER_RECORD) throw this.corrupt(`$MFT of ${data.size} bytes holds fewer than ${FIRST_USER_RECORD} records`, 'MFT record 0', data.at, data.size);
    if (rec0.attrs.some((a) => a.type === AT.ATTRIBUTE_LIST)) {
      // A very fragmented MFT: its later extents are in extension records the first extent maps.
      const e = await this.entry(0);
      const full = e.attrs.find((a) => a.type === AT.DATA && a.name === '' && !a.resident);
      if (full) this.mft = full;
      this.entries_.delete(0);
    }
    const runsEnd = this.mft.runs!.reduce((n, r) => Math.max(n, r.vcn + r.count), 0);
    if (runsEnd * g.clusterSize < this.mftRecords * g.recordSize) this.mftRecords = Math.floor((runsEnd * g.clusterSize) / g.recordSize);
    const [vol, up] = await Promise.all([this.entry(3), this.entry(10).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))))]);
    const name = vol.attrs.find((a) => a.type === AT.VOLUME_NAME);
    if (name?.value?.length) this.volumeLabel = utf16Chars(name.value, 0, name.value.length >> 1);
    const info = vol.attrs.find((a) => a.type === AT.VOLUME_INFORMATION)?.value;
    if (info && info.length >= 12) {
      this.version = `${info[8]}.${info[9]}`;
      this.volumeFlags = info[10]! | (info[11]! << 8);
      if (this.volumeFlags & 1) this.findings.push({ severity: 'warning', code: 'ntfs.dirty', message: 'the volume is marked dirty: Windows will run chkdsk on it at the next boot', offset: vol.at });
    }
    if (up instanceof Error) this.findings.push({ severity: 'warning', code: 'ntfs.upcase', message: `$UpCase could not be read (${up.message}); names are compared with Unicode's simple upper case`, offset: 0 });
    else {
      const d = up.attrs.find((a) => a.type === AT.DATA && a.name === '');
      try {
        if (!d || d.size !== 131072) throw new Error(`$UpCase holds ${d?.size ?? 0} bytes, not 131072`);
        const b = await this.readAttr(up, d, 0, 131072, this.meta, signal);
        const t = new Uint16Array(65536);
        const v = viewOf(b);
        for (let i = 0; i < 65536; i++) t[i] = v.getUint16(i * 2, true);
        this.upcase = t;
      } catch (e) {
        this.findings.push({ severity: 'warning', code: 'ntfs.upcase', message: `$UpCase could not be read (${(e as Error).message}); names are compared with Unicode's simple upper case`, offset: up.at });
      }
    }
    await this.readLogState(signal);
  }

  /** Whether $LogFile's restart area says the volume was shut down cleanly. */
  private async readLogState(signal?: AbortSignal): Promise<void> {
    try {
      const log = await this.entry(2);
      const d = log.attrs.find((a) => a.type === AT.DATA && a.name === '');
      if (!d || d.size < 4096) throw new Error('no $DATA');
      const head = await this.readAttr(log, d, 0, 4096, this.meta, signal);
      const magic = String.fromCharCode(...head.subarray(0, 4));
      if (head.every((x) => x === 0xff)) {
        this.logClean = true; // emptied (ntfsfix, a fresh mkntfs): nothing to replay
        return;
      }
      if (magic !== 'RSTR' && magic !== 'CHKD') throw new Error(`restart page magic ${JSON.stringify(magic)}`);
      const hv = viewOf(head);
      const page = hv.getUint32(0x10, true);
      if (page < 512 || page > 65536 || (page & (page - 1)) !== 0) throw new Error(`system page size ${page}`);
      const raw = page <= 4096 ? head.subarray(0, page) : await this.readAttr(log, d, 0, page, this.meta, signal);
      const p = applyFixups(raw, magic, this.where('$LogFile restart page', d.runs?.[0] ? d.runs[0].lcn * this.cs : undefined));
      const pv = viewOf(p);
      const ra = pv.getUint16(0x18, true);
      if (ra + 16 > p.length) throw new Error(`restart area at ${ra}`);
      const inUse = pv.getUint16(ra + 0x0c, true);
      const flags = pv.getUint16(ra + 0x0e, true);
      this.logClean = inUse === 0xffff && (flags & 0x0002) !== 0;
      if (!this.logClean) this.findings.push({ severity: 'warning', code: 'ntfs.logfile-unclean', message: '$LogFile has transactions not checkpointed (Windows was not shut down cleanly, or fast startup is on): Windows will replay it; other readers see the state before', offset: log.at });
    } catch (e) {
      this.findings.push({ severity: 'warning', code: 'ntfs.logfile', message: `$LogFile's restart area could not be read: ${(e as Error).message}`, offset: 0 });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Records and attributes

  /** An MFT record, read through $MFT's runlist, fixups applied. */
  private async record(ino: number, signal?: AbortSignal): Promise<MftRecord> {
    if (!Number.isSafeInteger(ino) || ino < 0 || ino >= this.mftRecords) throw this.corrupt(`MFT record ${ino} is beyond the MFT's ${this.mftRecords} records`, '$MFT', this.mft.at, ino);
    const rs = this.geometry.recordSize;
    // Records are read 256 KiB of the MFT at a time, kept in a small cache of such chunks, and
    // the next chunk is read ahead: a walk reads the records of neighbouring files one after
    // another, and each read from the host costs a round trip through its thread pool.
    const perChunk = Math.max(1, MFT_CHUNK / rs);
    const chunk = Math.floor(ino / perChunk);
    const load = (c: number): Promise<Uint8Array> | undefined => {
      let p = this.mftChunks.get(c);
      if (!p) {
        const from = c * perChunk * rs;
        const n = Math.min(perChunk * rs, this.mftRecords * rs - from);
        if (n <= 0) return undefined;
        p = this.readAttr(undefined, this.mft, from, n, this.dev, signal);
        this.mftChunks.set(c, p);
        p.then(
          (b) => this.mftReady.set(c, b, Math.max(1, Math.ceil(b.length / MFT_CHUNK))),
          () => this.mftChunks.delete(c),
        );
      }
      return p;
    };
    let bytes = this.mftReady.get(chunk);
    if (!bytes) {
      const p = load(chunk)!;
      if (!this.mftChunks.get(chunk + 1)) load(chunk + 1)?.catch(() => undefined);
      bytes = await p;
    }
    return this.parseAt(ino, bytes, (ino - chunk * perChunk) * rs);
  }

  /** The record `ino` when its chunk of the MFT is in memory already (no await), else undefined. */
  private recordNow(ino: number): MftRecord | undefined {
    if (!Number.isSafeInteger(ino) || ino < 0 || ino >= this.mftRecords) return undefined;
    const rs = this.geometry.recordSize;
    const perChunk = Math.max(1, MFT_CHUNK / rs);
    const chunk = Math.floor(ino / perChunk);
    const bytes = this.mftReady.get(chunk);
    if (!bytes) return undefined;
    // Keep reading ahead as the walk goes through this chunk.
    if ((ino + 1) % perChunk === 0 && !this.mftChunks.get(chunk + 1)) this.record(ino + 1).catch(() => undefined);
    return this.parseAt(ino, bytes, (ino - chunk * perChunk) * rs);
  }

  private parseAt(ino: number, bytes: Uint8Array, off: number): MftRecord {
    const rs = this.geometry.recordSize;
    const raw = bytes.subarray(off, off + rs);
    const at = this.deviceOffset(this.mft, ino * rs);
    // Fixed up in a buffer reused from record to record (parsing is synchronous from here; the
    // values kept are copied): a walk reads a record per file.
    const fixed = applyFixups(raw, 'FILE', this.where(`MFT record ${ino}`, at), (this.scratch ??= new Uint8Array(rs)));
    if ((fixed[4]! | (fixed[5]! << 8)) >= 0x30 && u32At(fixed, 0x2c) !== ino) {
      this.note('ntfs.record-number', `MFT record ${ino} says it is record ${u32At(fixed, 0x2c)}`, at);
    }
    return parseRecord(fixed, ino, at, this.geometry.clusters, this.where(), true);
  }

  /** Where byte `pos` of a non-resident attribute lies on the device (-1: sparse). */
  private deviceOffset(a: Attribute, pos: number): number {
    const vcn = Math.floor(pos / this.cs);
    const run = this.runAt(a, vcn);
    return run && run.lcn >= 0 ? (run.lcn + vcn - run.vcn) * this.cs + (pos % this.cs) : -1;
  }

  private runAt(a: Attribute, vcn: number): Run | undefined {
    const runs = a.runs!;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = runs[mid]!;
      if (vcn < r.vcn) hi = mid - 1;
      else if (vcn >= r.vcn + r.count) lo = mid + 1;
      else return r;
    }
    return undefined;
  }

  /** A file's attributes, gathered from its base record and the extension records its list names. */
  private entry(ino: number): Promise<Entry> {
    let p = this.entries_.get(ino);
    if (!p) {
      p = this.loadEntry(ino);
      p.catch(() => this.entries_.delete(ino));
      this.entries_.set(ino, p);
    }
    return p;
  }

  private async loadEntry(ino: number): Promise<Entry> {
    const rec = this.recordNow(ino) ?? (await this.record(ino));
    if (!(rec.flags & MFT_FLAG.IN_USE)) throw this.corrupt(`MFT record ${ino} is referenced but not in use`, `MFT record ${ino}`, rec.at);
    if (rec.base !== 0) throw this.corrupt(`MFT record ${ino} is an extension record of ${rec.base}, not a file`, `MFT record ${ino}`, rec.at, rec.base);
    let attrs = rec.attrs;
    const list = attrs.find((a) => a.type === AT.ATTRIBUTE_LIST);
    if (list) {
      const bytes = await this.readAttr(undefined, list, 0, list.size, this.meta, undefined, MAX_METADATA_ATTRIBUTE);
      const v = viewOf(bytes);
      const others = new Set<number>();
      for (let p = 0; p + 26 <= bytes.length; ) {
        const len = v.getUint16(p + 4, true);
        if (len < 26 || p + len > bytes.length) throw this.corrupt(`$ATTRIBUTE_LIST entry at ${p} has length ${len}`, `$ATTRIBUTE_LIST of record ${ino}`, list.at, len);
        const ref = u48(v, p + 0x10);
        if (ref !== ino) others.add(ref);
        if (others.size > MAX_EXTENSIONS) throw new DiskProbeError(ErrorCode.LIMIT, `file spread over more than ${MAX_EXTENSIONS} records`, this.where(`$ATTRIBUTE_LIST of record ${ino}`, list.at));
        p += len;
      }
      const ext = await Promise.all([...others].map((x) => this.record(x)));
      attrs = attrs.filter((a) => a.type !== AT.ATTRIBUTE_LIST);
      for (const r of ext) {
        if (r.base !== ino || !(r.flags & MFT_FLAG.IN_USE)) {
          this.note('ntfs.attribute-list', `$ATTRIBUTE_LIST of record ${ino} names record ${r.ino}, which belongs to ${r.base || 'no file'}; its attributes are ignored`, r.at);
          continue;
        }
        attrs = attrs.concat(r.attrs.filter((a) => a.type !== AT.ATTRIBUTE_LIST));
      }
      attrs = this.merge(attrs, ino);
    }
    const si = attrs.find((a) => a.type === AT.STANDARD_INFORMATION && a.resident)?.value;
    const zero = { sec: -11_644_473_600, nsec: 0 };
    let fileAttrs = 0;
    let times = { created: zero, modified: zero, changed: zero, accessed: zero };
    if (si && si.length >= 0x24) {
      times = { created: filetime(si, 0), modified: filetime(si, 8), changed: filetime(si, 0x10), accessed: filetime(si, 0x18) };
      fileAttrs = u32At(si, 0x20);
    } else this.note('ntfs.standard-information', `MFT record ${ino} has no $STANDARD_INFORMATION`, rec.at);
    const names: FileName[] = [];
    for (const a of attrs) {
      if (a.type !== AT.FILE_NAME || !a.value) continue;
      const n = fileName(a.value, 0, a.value.length);
      if (n) names.push(n);
    }
    const e: Entry = { ino, seq: rec.seq, recordFlags: rec.flags, attrs, names, fileAttrs, times, at: rec.at };
    const rp = attrs.find((a) => a.type === AT.REPARSE_POINT);
    if (rp) {
      const b = await this.readAttr(e, rp, 0, rp.size, this.meta, undefined, 65536);
      e.reparse = parseReparse(b, this.where(`$REPARSE_POINT of record ${ino}`, rp.at));
    } else if (fileAttrs & FA.SYSTEM && !(rec.flags & MFT_FLAG.DIRECTORY)) {
      e.interix = await this.interix(e);
    }
    const ea = attrs.find((a) => a.type === AT.EA);
    if (ea) e.lx = this.lxAttributes(await this.readAttr(e, ea, 0, ea.size, this.meta, undefined, 65536 + 8), ea.at);
    return e;
  }

  /**
   * WSL keeps a file's POSIX owner, mode and device in extended attributes ($EA: entries of
   * next-entry offset, flags, name length, value length, name, NUL, value).
   */
  private lxAttributes(b: Uint8Array, at: number): Entry['lx'] {
    const v = viewOf(b);
    const lx: NonNullable<Entry['lx']> = {};
    for (let p = 0; p + 8 <= b.length; ) {
      const next = v.getUint32(p, true);
      const nameLength = b[p + 5]!;
      const valueLength = v.getUint16(p + 6, true);
      const valueAt = p + 8 + nameLength + 1;
      if (valueAt + valueLength > b.length) {
        this.note('ntfs.ea', `an extended attribute at ${p} runs past its ${b.length} bytes`, at);
        break;
      }
      const name = String.fromCharCode(...b.subarray(p + 8, p + 8 + nameLength));
      if (valueLength >= 4 && name === '$LXUID') lx.uid = v.getUint32(valueAt, true);
      else if (valueLength >= 4 && name === '$LXGID') lx.gid = v.getUint32(valueAt, true);
      else if (valueLength >= 4 && name === '$LXMOD') lx.mode = v.getUint32(valueAt, true);
      else if (valueLength >= 8 && name === '$LXDEV') lx.rdev = { major: v.getUint32(valueAt, true), minor: v.getUint32(valueAt + 4, true) };
      if (next === 0 || next % 4 !== 0) break;
      p += next;
    }
    return Object.keys(lx).length ? lx : undefined;
  }

  /** ntfs-3g's Interix special files: system files that are empty (FIFOs), one byte (sockets), or start with `Intx…`. */
  private async interix(e: Entry): Promise<Entry['interix']> {
    const d = e.attrs.find((a) => a.type === AT.DATA && a.name === '');
    if (!d || d.flags & (ATTR_FLAG.ENCRYPTED | ATTR_FLAG.COMPRESSED)) return undefined;
    // ntfs-3g's convention: an empty system file is a FIFO, a one-byte one a socket.
    if (d.size === 0) return { type: 'fifo' };
    if (d.size === 1) return { type: 'socket' };
    if (d.size < 8 || d.size > 8192) return undefined;
    const b = await this.readAttr(e, d, 0, d.size, this.meta);
    const magic = String.fromCharCode(...b.subarray(0, 8));
    const v = viewOf(b);
    if (magic === 'IntxLNK\u0001' && d.size % 2 === 0) return { type: 'symlink', target: utf16Chars(b, 8, (d.size - 8) >> 1) };
    if ((magic === 'IntxCHR\0' || magic === 'IntxBLK\0') && d.size === 24) {
      return { type: magic === 'IntxCHR\0' ? 'char' : 'block', rdev: { major: v.getUint32(8, true), minor: v.getUint32(16, true) } };
    }
    return undefined;
  }

  /** Joins the extents of each non-resident attribute spread over several records. */
  private merge(attrs: Attribute[], ino: number): Attribute[] {
    const out: Attribute[] = [];
    const groups = new Map<string, Attribute[]>();
    for (const a of attrs) {
      if (a.resident) out.push(a);
      else {
        const k = `${a.type}:${a.name}`;
        const g = groups.get(k);
        if (g) g.push(a);
        else groups.set(k, [a]);
      }
    }
    for (const g of groups.values()) {
      g.sort((x, y) => x.startVcn - y.startVcn);
      const first = g[0]!;
      if (first.startVcn !== 0) throw this.corrupt(`attribute 0x${first.type.toString(16)} of record ${ino} has no extent starting at VCN 0`, '$ATTRIBUTE_LIST', first.at);
      let runs: Run[] = [];
      let next = 0;
      for (const a of g) {
        if (a.startVcn !== next) throw this.corrupt(`attribute 0x${a.type.toString(16)} of record ${ino}: an extent starts at VCN ${a.startVcn}, expected ${next}`, '$ATTRIBUTE_LIST', a.at, a.startVcn);
        runs = runs.concat(a.runs!);
        next = a.lastVcn + 1;
      }
      out.push({ ...first, runs, lastVcn: next - 1 });
    }
    return out;
  }

  /**
   * Bytes [offset, offset + length) of an attribute's value: resident, or through its runs
   * (sparse runs and bytes past the initialized size read as zeros; compressed units through
   * LZNT1). `max` bounds what a metadata read may ask for.
   */
  private async readAttr(e: Entry | undefined, a: Attribute, offset: number, length: number, dev: BlockDevice, signal?: AbortSignal, max?: number): Promise<Uint8Array> {
    if (max !== undefined && length > max) throw new DiskProbeError(ErrorCode.LIMIT, `an attribute of ${length} bytes (at most ${max} read whole)`, { ...this.where('attribute', a.at), value: length });
    const end = offset + length;
    if (a.resident) {
      const out = new Uint8Array(length);
      out.set(a.value!.subarray(Math.min(offset, a.value!.length), Math.min(end, a.value!.length)));
      return out;
    }
    if (end > a.size) throw this.corrupt(`a read of bytes ${offset}..${end} past the attribute's ${a.size}`, 'attribute', a.at);
    if (length === 0) return new Uint8Array(0);
    if (a.flags & ATTR_FLAG.COMPRESSED && a.compressionUnit) return this.readCompressed(e, a, offset, length, signal);
    const cs = this.cs;
    const initEnd = Math.min(end, a.initialized);
    if (offset < initEnd) {
      const first = Math.floor(offset / cs);
      const pieces = this.pieces(a, first, Math.floor((initEnd - 1) / cs));
      const only = pieces[0]!;
      if (pieces.length === 1 && only.lcn >= 0 && initEnd === end) return dev.read(only.lcn * cs + (offset - only.vcn * cs), length, signal);
      const out = new Uint8Array(length);
      const reads: Promise<void>[] = [];
      for (const p of pieces) {
        if (p.lcn < 0) continue;
        const from = Math.max(offset, p.vcn * cs);
        const to = Math.min(initEnd, (p.vcn + p.count) * cs);
        reads.push(dev.read(p.lcn * cs + (from - p.vcn * cs), to - from, signal).then((b) => out.set(b, from - offset)));
      }
      await Promise.all(reads);
      return out;
    }
    return new Uint8Array(length);
  }

  /** The runs covering VCNs first..last, cut to that range; a gap is corruption. */
  private pieces(a: Attribute, first: number, last: number): Run[] {
    const out: Run[] = [];
    const runs = a.runs!;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid]!.vcn <= first) lo = mid;
      else hi = mid - 1;
    }
    let vcn = first;
    for (let i = lo; i < runs.length && vcn <= last; i++) {
      const r = runs[i]!;
      if (r.vcn + r.count <= vcn) continue;
      if (r.vcn > vcn) break;
      const count = Math.min(r.vcn + r.count, last + 1) - vcn;
      out.push({ vcn, lcn: r.lcn < 0 ? -1 : r.lcn + (vcn - r.vcn), count });
      vcn += count;
    }
    if (vcn <= last) throw this.corrupt(`VCN ${vcn} of attribute 0x${a.type.toString(16)} is not mapped by its runlist`, 'runlist', a.at, vcn);
    return out;
  }

  /** Compressed attributes: units of 2^cu clusters, stored raw when full, LZNT1 when partly sparse. */
  private async readCompressed(e: Entry | undefined, a: Attribute, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const cs = this.cs;
    const unitClusters = 2 ** a.compressionUnit;
    const unitBytes = unitClusters * cs;
    if (unitBytes > 1024 * 1024) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `compression units of ${unitBytes} bytes`, this.where('attribute', a.at));
    const out = new Uint8Array(length);
    const end = offset + length;
    const initEnd = Math.min(end, a.initialized);
    const totalVcns = a.lastVcn + 1;
    const work: Promise<void>[] = [];
    for (let u = Math.floor(offset / unitBytes); u * unitBytes < initEnd; u++) {
      const first = u * unitClusters;
      const last = Math.min(first + unitClusters, totalVcns) - 1;
      if (last < first) throw this.corrupt(`compression unit ${u} lies past the runlist`, 'runlist', a.at, u);
      const pieces = this.pieces(a, first, last);
      const stored = pieces.filter((p) => p.lcn >= 0);
      const storedClusters = stored.reduce((n, p) => n + p.count, 0);
      const uStart = u * unitBytes;
      const from = Math.max(offset, uStart);
      const to = Math.min(initEnd, uStart + unitBytes);
      if (storedClusters === 0) continue;
      work.push(
        (async () => {
          const parts = await Promise.all(stored.map((p) => this.dev.read(p.lcn * cs, p.count * cs, signal)));
          let unit: Uint8Array;
          if (storedClusters === last - first + 1) {
            unit = new Uint8Array(storedClusters * cs);
            let at = 0;
            for (const p of parts) {
              unit.set(p, at);
              at += p.length;
            }
          } else {
            const src = new Uint8Array(storedClusters * cs);
            let at = 0;
            for (const p of parts) {
              src.set(p, at);
              at += p.length;
            }
            unit = new Uint8Array(unitBytes);
            lznt1(src, unit, 0, unitBytes, this.where(`compressed data of record ${e?.ino ?? '?'}`, stored[0]!.lcn * cs));
          }
          out.set(unit.subarray(from - uStart, to - uStart), from - offset);
        })(),
      );
    }
    await Promise.all(work);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Directories

  private upper(name: string): string {
    const t = this.upcase;
    if (!t) return name.toUpperCase();
    // ASCII: $UpCase maps a–z to A–Z and nothing else, as toUpperCase does.
    let ascii = true;
    for (let i = 0; i < name.length && ascii; i++) ascii = name.charCodeAt(i) < 0x80;
    if (ascii) return name.toUpperCase();
    let changed = false;
    const codes = new Array<number>(name.length);
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      const u = t[c]!;
      codes[i] = u;
      if (u !== c) changed = true;
    }
    return changed ? String.fromCharCode(...codes) : name;
  }

  /** A directory's $I30 index: its root node, and a reader of its INDX blocks (each VCN once). */
  private index(e: Entry, signal?: AbortSignal, whole = true): { root: Uint8Array; rootAt: number; block: (vcn: number) => Promise<{ b: Uint8Array; at: number }> } {
    const root = e.attrs.find((a) => a.type === AT.INDEX_ROOT && a.name === '$I30');
    if (!root?.value) throw this.corrupt(`directory ${e.ino} has no $INDEX_ROOT named $I30`, `MFT record ${e.ino}`, e.at);
    const rv = viewOf(root.value);
    if (root.value.length < 0x20) throw this.corrupt(`$INDEX_ROOT of ${root.value.length} bytes`, `$INDEX_ROOT of record ${e.ino}`, root.at);
    if (rv.getUint32(0, true) !== AT.FILE_NAME) throw this.corrupt(`$I30 indexes attribute 0x${rv.getUint32(0, true).toString(16)}, not $FILE_NAME`, `$INDEX_ROOT of record ${e.ino}`, root.at);
    const blockSize = rv.getUint32(8, true);
    const alloc = e.attrs.find((a) => a.type === AT.INDEX_ALLOCATION && a.name === '$I30' && !a.resident);
    const visited = new Set<number>();
    let all: Promise<Uint8Array> | undefined;
    const shift = blockSize >= this.cs ? Math.log2(this.cs) : 9;
    const block = async (vcn: number): Promise<{ b: Uint8Array; at: number }> => {
      if (!alloc) throw this.corrupt(`an index entry points at block VCN ${vcn} but the directory has no $INDEX_ALLOCATION`, `$INDEX_ROOT of record ${e.ino}`, root.at, vcn);
      if (blockSize < 512 || blockSize > 65536 || (blockSize & (blockSize - 1)) !== 0) throw this.corrupt(`index block size ${blockSize}`, `$INDEX_ROOT of record ${e.ino}`, root.at, blockSize);
      const pos = vcn * 2 ** shift;
      if (pos + blockSize > alloc.size) throw this.corrupt(`index block VCN ${vcn} lies past $INDEX_ALLOCATION's ${alloc.size} bytes`, `$INDEX_ALLOCATION of record ${e.ino}`, alloc.at, vcn);
      if (visited.has(vcn)) throw this.corrupt(`index block VCN ${vcn} is reached twice (a loop in the B+ tree)`, `$INDEX_ALLOCATION of record ${e.ino}`, alloc.at, vcn);
      visited.add(vcn);
      // A whole walk reads the allocation in one piece (most directories are small).
      if (whole && alloc.size <= WHOLE_INDEX_BYTES) all ??= this.readAttr(e, alloc, 0, alloc.size, this.meta, signal);
      const raw = all ? (await all).subarray(pos, pos + blockSize) : await this.readAttr(e, alloc, pos, blockSize, this.meta, signal);
      const at = this.deviceOffset(alloc, pos);
      const b = applyFixups(raw, 'INDX', this.where(`index block ${vcn} of directory ${e.ino}`, at));
      const stored = u48(viewOf(b), 0x10);
      if (stored !== vcn) throw this.corrupt(`index block at VCN ${vcn} says it is VCN ${stored}`, `index block of directory ${e.ino}`, at, stored);
      return { b, at };
    };
    return { root: root.value, rootAt: root.at, block };
  }

  /** The entries of one index node (its header at `node`): keys, and child block VCNs. */
  private nodeItems(b: Uint8Array, node: number, at: number, ino: number): { key?: IndexKey; child?: number }[] {
    const v = viewOf(b);
    const items: { key?: IndexKey; child?: number }[] = [];
    if (node + 16 > b.length) throw this.corrupt('index node header past its block', `index of directory ${ino}`, at);
    const start = node + v.getUint32(node, true);
    const end = node + v.getUint32(node + 4, true);
    if (start < node + 16 || end > b.length || start > end) throw this.corrupt(`index entries at ${start}..${end} outside the ${b.length}-byte node`, `index of directory ${ino}`, at);
    for (let p = start; ; ) {
      if (p + 16 > end) throw this.corrupt('index entries end without a last entry', `index entry of directory ${ino}`, at + p);
      const len = v.getUint16(p + 8, true);
      const keyLen = v.getUint16(p + 10, true);
      const flags = v.getUint16(p + 12, true);
      if (len < 16 || len % 8 !== 0 || p + len > end || 16 + keyLen > len) throw this.corrupt(`index entry of length ${len} (key ${keyLen}) at ${p}`, `index entry of directory ${ino}`, at + p, len);
      const item: { key?: IndexKey; child?: number } = {};
      if (flags & 1) {
        if (len < 24 + (flags & 2 ? 0 : keyLen)) throw this.corrupt(`index entry of length ${len} with a child pointer`, `index entry of directory ${ino}`, at + p, len);
        item.child = u48(v, p + len - 8);
      }
      if (!(flags & 2)) {
        const k = p + 16;
        const chars = keyLen >= 0x42 ? b[k + 0x40]! : 0;
        if (keyLen < 0x42 || 0x42 + chars * 2 > keyLen) throw this.corrupt(`index key of ${keyLen} bytes too short for its name`, `index entry of directory ${ino}`, at + p, keyLen);
        item.key = {
          parent: (b[k + 4]! | (b[k + 5]! << 8)) * 0x1_0000_0000 + u32At(b, k),
          name: utf16Chars(b, k + 0x42, chars),
          ns: b[k + 0x41]!,
          flags: u32At(b, k + 0x38),
          reparseTag: u32At(b, k + 0x3c),
          ino: (b[p + 4]! | (b[p + 5]! << 8)) * 0x1_0000_0000 + u32At(b, p),
          seq: b[p + 6]! | (b[p + 7]! << 8),
          size: u32At(b, k + 0x30) + u32At(b, k + 0x34) * 0x1_0000_0000,
        };
      }
      items.push(item);
      if (flags & 2) return items;
      p += len;
    }
  }

  /** Every key of a directory's $I30 index, in collation order (an in-order walk of the B+ tree). */
  private async indexKeys(e: Entry, signal?: AbortSignal): Promise<IndexKey[]> {
    const ix = this.index(e, signal);
    const keys: IndexKey[] = [];
    const walk = async (b: Uint8Array, node: number, at: number, depth: number): Promise<void> => {
      if (depth > MAX_INDEX_DEPTH) throw this.corrupt(`index B+ tree deeper than ${MAX_INDEX_DEPTH} levels`, `index of directory ${e.ino}`, at);
      for (const item of this.nodeItems(b, node, at, e.ino)) {
        if (item.child !== undefined) {
          const c = await ix.block(item.child);
          await walk(c.b, 0x18, c.at, depth + 1);
        }
        if (item.key) keys.push(item.key);
      }
    };
    await walk(ix.root, 0x10, ix.rootAt, 0);
    return keys;
  }

  /**
   * The keys whose name equals `upper` (upper-cased) found by descending the B+ tree: at each
   * node, the first key not below the name either matches or leads to the child to search.
   * Names compare as their $UpCase forms, code unit by code unit (NTFS's filename collation).
   */
  private async descend(e: Entry, upper: string): Promise<IndexKey[]> {
    const ix = this.index(e, undefined, false);
    let node = { b: ix.root, node: 0x10, at: ix.rootAt };
    for (let depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
      const items = this.nodeItems(node.b, node.node, node.at, e.ino);
      let next: number | undefined;
      let found: IndexKey[] | undefined;
      for (let i = 0; i < items.length; i++) {
        const item = items[i]!;
        if (item.key) {
          const u = this.upper(item.key.name);
          if (u < upper) continue;
          if (u === upper) {
            found = [item.key];
            for (let j = i + 1; j < items.length && items[j]!.key && this.upper(items[j]!.key!.name) === upper; j++) found.push(items[j]!.key!);
            break;
          }
        }
        next = item.child;
        break;
      }
      if (found) return found;
      if (next === undefined) return [];
      const c = await ix.block(next);
      node = { b: c.b, node: 0x18, at: c.at };
    }
    throw this.corrupt(`index B+ tree deeper than ${MAX_INDEX_DEPTH} levels`, `index of directory ${e.ino}`, node.at);
  }

  private listing(dir: NtfsNode): Promise<Listing> {
    let p = this.listings.get(dir.ino);
    if (!p) {
      p = this.indexKeys(dir.entry).then((keys) => {
        const list: DirEntry[] = [];
        const byUpper = new Map<string, IndexKey[]>();
        for (const k of keys) {
          const u = this.upper(k.name);
          const same = byUpper.get(u);
          if (same) same.push(k);
          else byUpper.set(u, [k]);
          if (k.ns === NS.DOS || (dir.ino === ROOT && (k.ino < FIRST_USER_RECORD || k.name === '.'))) continue;
          const isDir = (k.flags & FA.DIRECTORY) !== 0;
          list.push({ name: k.name, ino: k.ino, type: k.flags & FA.REPARSE ? typeOfTag(k.reparseTag, isDir) : isDir ? 'directory' : k.flags & FA.SYSTEM ? 'unknown' : 'file' });
        }
        return { list, byUpper };
      });
      p.catch(() => this.listings.delete(dir.ino));
      this.listings.set(dir.ino, p, 1);
    }
    return p;
  }

  private async lookup(dir: NtfsNode, name: string): Promise<NtfsNode | undefined> {
    if (dir.type !== 'directory' || dir.stream) return undefined;
    const upper = this.upper(name);
    let found: IndexKey[] | undefined;
    // A directory listed already answers from its listing; a large one not listed yet is searched
    // through its B+ tree (names differing only in case — POSIX namespace — are listed to be sure).
    const listed = this.listings.get(dir.ino);
    const large = dir.entry.attrs.some((a) => a.type === AT.INDEX_ALLOCATION);
    if (!listed && large && this.upcase) {
      found = await this.descend(dir.entry, upper);
      if (found.length && !found.some((k) => k.name === name) && found.some((k) => k.ns === NS.POSIX)) found = (await this.listing(dir)).byUpper.get(upper);
    } else found = (await this.listing(dir)).byUpper.get(upper);
    if (found?.length) {
      // Names that differ only in case (POSIX namespace): the exact one first.
      const k = found.find((x) => x.name === name) ?? found[0]!;
      return this.node(k.ino, '', k.seq);
    }
    const colon = name.indexOf(':');
    if (colon > 0) {
      let stream = name.slice(colon + 1);
      if (/:\$DATA$/i.test(stream)) stream = stream.slice(0, -6);
      else if (stream.includes(':')) return undefined;
      const base = await this.lookup(dir, name.slice(0, colon));
      if (!base || base.type === 'directory' || base.type === 'symlink') return undefined;
      if (stream === '') return base;
      return this.streamNode(base.entry, stream);
    }
    return undefined;
  }

  private streamNode(e: Entry, stream: string): NtfsNode | undefined {
    const d = e.attrs.find((a) => a.type === AT.DATA && this.upper(a.name) === this.upper(stream));
    if (!d) return undefined;
    return { ino: e.ino, mode: MODE.file, size: d.size, type: 'file', entry: e, stream: d.name };
  }

  private async node(ino: number, stream = '', seq?: number): Promise<NtfsNode> {
    const e = await this.entry(ino);
    if (seq !== undefined && seq !== 0 && seq !== e.seq) this.note('ntfs.stale-entry', `a directory entry names record ${ino} with sequence ${seq}; the record has ${e.seq}`, e.at);
    if (stream) {
      const n = this.streamNode(e, stream);
      if (!n) throw new DiskProbeError(ErrorCode.NOT_FOUND, `no stream ${JSON.stringify(stream)}`, this.where(`MFT record ${ino}`, e.at));
      return n;
    }
    const isDir = (e.recordFlags & MFT_FLAG.DIRECTORY) !== 0;
    const type = e.reparse ? typeOfTag(e.reparse.tag, isDir) : (e.interix?.type ?? (isDir ? 'directory' : 'file'));
    let size = 0;
    if (type === 'symlink') size = new TextEncoder().encode(this.targetOf(e)).length;
    // Interix devices, FIFOs and sockets have the size of their data, as ntfs-3g shows them.
    else if (type !== 'directory') size = e.attrs.find((a) => a.type === AT.DATA && a.name === '')?.size ?? 0;
    let mode = MODE[type];
    if (type === 'file' && e.fileAttrs & FA.READONLY) mode = 0o100444;
    return { ino, mode, size, type, entry: e, stream: '' };
  }

  private targetOf(e: Entry): string {
    const t = e.reparse?.target ?? e.interix?.target;
    if (t === undefined) throw new DiskProbeError(ErrorCode.UNSUPPORTED, `reparse point ${e.reparse?.tagName ?? '?'} has no target diskprobe reads`, this.where(`MFT record ${e.ino}`, e.at));
    return t;
  }

  // -------------------------------------------------------------------------------------------
  // The FileSystem interface

  protected statOf(n: NtfsNode): Stats {
    const e = n.entry;
    // As Windows and ntfs-3g report them: directories carry FILE_ATTRIBUTE_DIRECTORY.
    const raw = (e.fileAttrs | (e.recordFlags & MFT_FLAG.DIRECTORY ? FA.DIRECTORY_ATTRIBUTE : 0)) >>> 0;
    const flags = FA_NAMES.filter(([bit]) => raw & bit).map(([, name]) => name);
    if (e.reparse) flags.push(`reparse:${e.reparse.tagName}`);
    const links = e.names.filter((x) => x.ns !== NS.DOS).length;
    const s: Stats = {
      ino: n.ino,
      type: n.type,
      mode: n.mode,
      permissions: n.mode & 0o7777,
      uid: 0,
      gid: 0,
      size: n.size,
      nlink: Math.max(1, links),
      atime: e.times.accessed,
      mtime: e.times.modified,
      ctime: e.times.changed,
      birthtime: e.times.created,
      flags,
      rawFlags: raw,
    };
    const d = n.type === 'file' ? e.attrs.find((a) => a.type === AT.DATA && a.name === n.stream) : undefined;
    if (d) s.allocated = d.resident ? 0 : d.compressionUnit ? d.compressedSize : d.allocated;
    const rdev = e.lx?.rdev ?? e.interix?.rdev;
    if (rdev && (n.type === 'char' || n.type === 'block')) s.rdev = rdev;
    if (e.lx?.uid !== undefined) s.uid = e.lx.uid;
    if (e.lx?.gid !== undefined) s.gid = e.lx.gid;
    // WSL's mode, where its type agrees with what the record is.
    if (e.lx?.mode !== undefined && (e.lx.mode & 0o170000) === (n.mode & 0o170000) && !n.stream) {
      s.mode = e.lx.mode;
      s.permissions = e.lx.mode & 0o7777;
    }
    return s;
  }

  protected async entries(dir: NtfsNode): Promise<Map<string, DirEntry>> {
    const l = await this.listing(dir);
    return new Map(l.list.map((x) => [x.name, x]));
  }

  protected async linkTarget(n: NtfsNode): Promise<string> {
    return this.targetOf(n.entry);
  }

  protected async readData(n: NtfsNode, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const e = n.entry;
    const d = e.attrs.find((a) => a.type === AT.DATA && a.name === n.stream);
    if (!d) {
      if (length === 0) return new Uint8Array(0);
      throw this.corrupt(`file ${e.ino} has no $DATA attribute`, `MFT record ${e.ino}`, e.at);
    }
    if (d.flags & ATTR_FLAG.ENCRYPTED || (e.fileAttrs & FA.ENCRYPTED && !n.stream)) {
      throw new DiskProbeError(ErrorCode.ENCRYPTED, 'the file is encrypted with EFS; diskprobe does not decrypt', this.where(`MFT record ${e.ino}`, e.at));
    }
    if (!n.stream && (e.reparse?.tag === REPARSE.WOF || e.reparse?.tag === REPARSE.DEDUP)) {
      const what = e.reparse.tag === REPARSE.WOF ? `compressed by the Windows Overlay Filter (${e.reparse.wofAlgorithm ?? 'unknown algorithm'})` : 'deduplicated (its data is in the volume\'s chunk store)';
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, `the file is ${what}, which this version does not read`, this.where(`$REPARSE_POINT of record ${e.ino}`, e.at));
    }
    return this.readAttr(e, d, offset, length, this.dev, signal);
  }

  /** The named data streams of a file (not the unnamed one), with their sizes. */
  async streams(path: string): Promise<{ name: string; size: number; resident: boolean }[]> {
    const n = await this.resolve(path, true);
    return n.entry.attrs.filter((a) => a.type === AT.DATA && a.name !== '').map((a) => ({ name: a.name, size: a.size, resident: a.resident }));
  }

  /** The reparse point of a path (not followed), if it has one. */
  async reparsePoint(path: string): Promise<ReparseInfo | undefined> {
    return (await this.resolve(path, false)).entry.reparse;
  }

  /** All names of a file: each $FILE_NAME with its namespace (`posix`, `win32`, `dos`, `win32+dos`) and parent record. */
  async names(path: string): Promise<{ name: string; namespace: string; parent: number }[]> {
    const n = await this.resolve(path, false);
    const ns = ['posix', 'win32', 'dos', 'win32+dos'];
    return n.entry.names.map((x) => ({ name: x.name, namespace: ns[x.ns] ?? String(x.ns), parent: x.parent }));
  }

  /** Free clusters ($Bitmap's $DATA) and free MFT records ($MFT's $BITMAP): the clear bits of the first `count`. */
  private async countFree(): Promise<{ clusters: number; records: number }> {
    const [bitmap, mft] = await Promise.all([this.entry(6), this.entry(0)]);
    const clear = async (e: Entry, type: number, count: number, what: string): Promise<number> => {
      const d = e.attrs.find((a) => a.type === type && a.name === '');
      if (!d) throw this.corrupt(`${what} has no ${type === AT.DATA ? '$DATA' : '$BITMAP'}`, `MFT record ${e.ino}`, e.at);
      const bytes = Math.ceil(count / 8);
      if (d.size < bytes) throw this.corrupt(`${what} holds ${d.size} bytes for ${count} bits`, what, d.at, d.size);
      let used = 0;
      const step = 8 * 1024 * 1024;
      for (let at = 0; at < bytes; at += step) {
        const b = await this.readAttr(e, d, at, Math.min(step, bytes - at), this.dev);
        for (let i = 0; i < b.length; i++) {
          let x = b[i]!;
          if (at + i === bytes - 1 && count % 8) x &= (1 << count % 8) - 1;
          x = x - ((x >> 1) & 0x55);
          x = (x & 0x33) + ((x >> 2) & 0x33);
          used += (x + (x >> 4)) & 0x0f;
        }
      }
      return count - used;
    };
    const [clusters, records] = await Promise.all([clear(bitmap, AT.DATA, this.geometry.clusters, '$Bitmap'), clear(mft, AT.BITMAP, this.mftRecords, "$MFT's bitmap")]);
    return { clusters, records };
  }

  /** The signature of /hiberfil.sys (`hibr`, `wake`, `RSTR`, …), `absent`, or `zero`. */
  async hibernation(): Promise<string> {
    let n: NtfsNode;
    try {
      n = await this.resolve('/hiberfil.sys', true);
    } catch (e) {
      if (e instanceof DiskProbeError && e.code === ErrorCode.NOT_FOUND) return 'absent';
      throw e;
    }
    if (n.size < 4) return 'zero';
    const b = await this.readData(n, 0, 4);
    if (b.every((x) => x === 0)) return 'zero';
    return String.fromCharCode(...b).replace(/[^\x20-\x7e]/g, '?');
  }

  async statfs(): Promise<FsStats> {
    this.free ??= this.countFree();
    this.free.catch(() => (this.free = undefined));
    const free = await this.free;
    const g = this.geometry;
    const dirty = (this.volumeFlags & 1) !== 0;
    const s: FsStats = {
      type: 'ntfs',
      blockSize: g.clusterSize,
      blocks: g.clusters,
      freeBlocks: free.clusters,
      reservedBlocks: 0,
      inodes: this.mftRecords,
      freeInodes: free.records,
      uuid: g.serial,
      features: this.version ? [`ntfs-${this.version}`] : [],
      state: { clean: !dirty && this.logClean !== false, errors: dirty, orphans: false, needsRecovery: this.logClean === false },
      facts: {
        version: this.version,
        volumeFlags: this.volumeFlags,
        dirty,
        logFileClean: this.logClean ?? null,
        hibernation: await this.hibernation().catch((e: Error) => `unreadable: ${e.message}`),
        bytesPerSector: g.bytesPerSector,
        clusterSize: g.clusterSize,
        mftRecordSize: g.recordSize,
        indexBlockSize: g.indexBlockSize,
        mftLcn: g.mftLcn,
        mftMirrLcn: g.mftMirrLcn,
        totalSectors: g.totalSectors,
      },
    };
    if (this.volumeLabel) s.label = this.volumeLabel;
    return s;
  }
}
