/**
 * A registry hive read into memory: keys by path (compared as Windows compares them, without
 * regard to case), their subkeys, values and typed data. `openHive` takes the primary file and,
 * optionally, its transaction logs; a dirty hive is replayed in memory from them (./log.ts),
 * never written. Layouts: ./regf.ts.
 */
import { DEFAULT_LIMITS } from '../limits.js';
import type { Finding } from '../container/types.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode, type Where } from '../errors.js';
import { replayLogs, type Replay } from './log.js';
import { BASE_BLOCK_SIZE, DB_SEGMENT, filetimeOf, latin1Of, nameHash, NK, parseBaseBlock, REG_TYPES, u16, u32, upcase, utf16Of, type BaseBlock } from './regf.js';

/** Largest hive read (bytes). Windows limits a hive to 2 GiB; the largest seen are a few hundred MiB. */
export const MAX_HIVE_BYTES = DEFAULT_LIMITS.maxHiveBytes;
/** The most subkey names kept in lookup indexes at once. */
const MAX_INDEXED_NAMES = 1 << 20;
/** Most subkeys or values listed for one key (a count beyond is corruption or an attack). */
const MAX_LIST = 1_000_000;
/** Levels of keys below the root: the limit Windows documents for a registry tree. */
export const MAX_KEY_DEPTH = 512;
const MAX_FINDINGS_PER_CODE = 32;

/** A value's data decoded by its type. */
export type ValueData = string | string[] | number | bigint | Uint8Array;

export interface RegValue {
  /** The name; `''` for the key's default value. */
  name: string;
  type: number;
  /** `REG_SZ`, …; `REG_0x12345678` for types without a name. */
  typeName: string;
  /** The data as stored: a view of the hive's memory (copy it before changing it). */
  bytes: Uint8Array;
  /** The data by type: strings (REG_SZ, REG_EXPAND_SZ, REG_LINK), string lists (REG_MULTI_SZ), numbers (REG_DWORD, big-endian DWORD), bigint (REG_QWORD), bytes otherwise. */
  data: ValueData;
}

/** Where to find a hive's transaction logs: bytes, devices, or undefined when absent. */
export interface HiveLogs {
  log?: Uint8Array | BlockDevice;
  log1?: Uint8Array | BlockDevice;
  log2?: Uint8Array | BlockDevice;
}

export interface OpenHiveOptions {
  /** The transaction logs (`.LOG`, `.LOG1`, `.LOG2`) to replay a dirty hive from. */
  logs?: HiveLogs;
  /** A label for errors (a file name). */
  label?: string;
  signal?: AbortSignal;
  /**
   * Compare each hash leaf's (`lh`) hashes with its keys' names as subkeys are listed; a
   * mismatch is a `regf.hash` finding (Windows skips entries whose hash differs, so it may not
   * find such a key). Off by default: lookups here compare names and do not need them.
   */
  checkHashes?: boolean;
  /** The largest hive or log accepted, in bytes (`MAX_HIVE_BYTES`, 1 GiB, by default). */
  maxBytes?: number;
}

async function bytesOf(src: Uint8Array | BlockDevice, label: string, max: number, signal?: AbortSignal): Promise<Uint8Array> {
  const size = src instanceof Uint8Array ? src.length : src.size;
  if (size > max) throw new DiskProbeError(ErrorCode.LIMIT, `a hive of ${size} bytes (maxHiveBytes is ${max})`, { layer: 'registry', format: 'regf', device: label, value: size, expected: `<= ${max}` });
  return src instanceof Uint8Array ? src : src.read(0, src.size, signal);
}

/** Opens a hive (the primary file's bytes or a device), replaying its logs if it is dirty. */
export async function openHive(source: Uint8Array | BlockDevice, options: OpenHiveOptions = {}): Promise<Hive> {
  const label = options.label ?? (source instanceof Uint8Array ? 'hive' : source.label);
  const max = options.maxBytes ?? MAX_HIVE_BYTES;
  const primary = await bytesOf(source, label, max, options.signal);
  const logs: { name: string; bytes: Uint8Array }[] = [];
  for (const name of ['log', 'log1', 'log2'] as const) {
    const l = options.logs?.[name];
    if (l) logs.push({ name: name.toUpperCase(), bytes: await bytesOf(l, `${label}.${name.toUpperCase()}`, max, options.signal) });
  }
  return new Hive(primary, label, logs, options.checkHashes ?? false);
}

interface Cell {
  /** Offset of the cell's data (after its size field) in the hive bins data. */
  at: number;
  /** Bytes of data the cell holds. */
  length: number;
}

/** A key of a hive. Methods read the hive's memory: they are synchronous. */
export class RegKey {
  constructor(
    private readonly hive: Hive,
    /** The cell of its key node. */
    readonly cell: number,
    /** Its path from the root (`\\`-separated, without the root's own name). */
    readonly path: string,
  ) {}

  private get d(): Uint8Array {
    return this.hive.data;
  }

  private get at(): number {
    return this.hive.nodeAt(this.cell);
  }

  get name(): string {
    return this.hive.keyName(this.at);
  }

  get flags(): number {
    return u16(this.d, this.at + 2);
  }

  get lastWritten(): { sec: number; nsec: number } {
    return filetimeOf(this.d, this.at + 4);
  }

  /** The class name, if the key has one. */
  get className(): string | undefined {
    const off = u32(this.d, this.at + 48);
    const len = u16(this.d, this.at + 74);
    if (off === 0xffffffff || len === 0) return undefined;
    const c = this.hive.cellAt(off, `class name of ${this.describe()}`);
    if (len > c.length) return this.hive.corrupt(`class name of ${len} bytes in a ${c.length}-byte cell`, 'nk', off);
    return utf16Of(this.d, c.at, len);
  }

  /** The subkeys, in the order stored (the lists keep them sorted by upper-cased name). */
  subkeys(): RegKey[] {
    const cells = this.hive.subkeyCells(this.at, this.describe());
    if (cells.length) this.checkDepth(cells);
    return cells.map((c) => new RegKey(this.hive, c, this.childPath(this.hive.keyName(this.hive.nodeAt(c)))));
  }

  /**
   * A key listed as its own subkey, or a tree deeper than Windows allows (512 levels), is a
   * crafted cycle: refused, so that a walk of the tree ends.
   */
  private checkDepth(cells: readonly number[]): void {
    if (cells.includes(this.cell)) this.hive.corrupt(`${this.describe()} lists itself as a subkey`, 'nk', this.cell);
    let depth = 1;
    for (let i = this.path.indexOf('\\'); i >= 0; i = this.path.indexOf('\\', i + 1)) depth++;
    if (depth >= MAX_KEY_DEPTH) {
      throw new DiskProbeError(ErrorCode.LIMIT, `${this.describe()} is ${depth} levels deep; Windows allows ${MAX_KEY_DEPTH} (a cycle of subkeys?)`, { layer: 'registry', format: 'regf', structure: 'nk', offset: this.cell, expected: `< ${MAX_KEY_DEPTH}` });
    }
  }

  /** The subkey named `name`, compared without regard to case. */
  subkey(name: string): RegKey | undefined {
    const c = this.hive.subkeyByName(this.cell, this.at, upcase(name), this.describe());
    return c === undefined ? undefined : new RegKey(this.hive, c, this.childPath(this.hive.keyName(this.hive.nodeAt(c))));
  }

  get subkeyCount(): number {
    return u32(this.d, this.at + 20);
  }

  get valueCount(): number {
    return u32(this.d, this.at + 36);
  }

  /** The values, in the order stored. */
  values(): RegValue[] {
    return this.hive.valueCells(this.at, this.describe()).map((c) => this.hive.value(c));
  }

  /** The value named `name` (`''` for the default value), compared without regard to case. */
  value(name: string): RegValue | undefined {
    const want = upcase(name);
    for (const c of this.hive.valueCells(this.at, this.describe())) {
      if (upcase(this.hive.valueName(c)) === want) return this.hive.value(c);
    }
    return undefined;
  }

  /** The parent key, or undefined for the root. */
  parent(): RegKey | undefined {
    if (this.path === '') return undefined;
    const i = this.path.lastIndexOf('\\');
    return this.hive.key(i < 0 ? '' : this.path.slice(0, i));
  }

  private childPath(name: string): string {
    return this.path === '' ? name : `${this.path}\\${name}`;
  }

  private describe(): string {
    return `key ${this.path === '' ? '(root)' : JSON.stringify(this.path)}`;
  }
}

export class Hive {
  readonly base: BaseBlock;
  readonly findings: Finding[] = [];
  /** The hive bins data (after replay, when the hive was dirty). */
  readonly data: Uint8Array;
  /** What replay did: which log, which entries; undefined if the hive was clean. */
  readonly replay: Replay | undefined;
  /** Whether the primary file was dirty (sequence numbers differ, or its checksum is wrong). */
  readonly dirty: boolean;
  /** Name indexes of keys with many subkeys, by key cell (see subkeyByName). */
  private readonly names = new Map<number, Map<string, number>>();
  private indexed = 0;
  /** Hash leaves already compared with their names (checkHashes). */
  private readonly hashesChecked = new Set<number>();

  constructor(
    primary: Uint8Array,
    readonly label: string,
    logs: { name: string; bytes: Uint8Array }[] = [],
    private readonly checkHashes = false,
  ) {
    let base = parseBaseBlock(primary, this.where());
    if (primary.length < BASE_BLOCK_SIZE) throw new DiskProbeError(ErrorCode.TRUNCATED, `${primary.length} bytes, shorter than the 4096-byte base block`, this.where('base block'));
    if (base.fileType !== 0) this.note('regf.file-type', `the base block's file type is ${base.fileType}, not 0 (a primary file)`, 28);
    if (base.major !== 1 || base.minor < 2 || base.minor > 6) this.note('regf.version', `version ${base.major}.${base.minor}`, 20);
    this.dirty = !base.checksumOk || base.primarySequence !== base.secondarySequence;
    const stored = primary.subarray(BASE_BLOCK_SIZE);
    let data: Uint8Array = stored;
    if (this.dirty) {
      const r = replayLogs(primary, base, logs, this.where());
      for (const f of r.findings) this.findings.push(f);
      if (r.replay) {
        data = r.data;
        base = r.base;
        this.replay = r.replay;
      } else {
        this.note('regf.dirty', `the hive is dirty (sequence numbers ${base.primarySequence} and ${base.secondarySequence}${base.checksumOk ? '' : ', bad checksum'}) and no log could be replayed: it is read as the primary file holds it, which may be stale`, 4);
      }
    }
    if (base.hiveBinsSize > data.length) {
      this.note('regf.truncated', `hive bins data of ${base.hiveBinsSize} bytes declared, ${data.length} present`, 40);
    } else if (base.hiveBinsSize > 0) data = data.subarray(0, base.hiveBinsSize);
    if (base.hiveBinsSize % 4096 !== 0) this.note('regf.hive-bins-size', `hive bins data size ${base.hiveBinsSize} is not a multiple of 4096`, 40);
    this.base = base;
    this.data = data;
    if (data.length < 32 || latin1Of(data, 0, 4) !== 'hbin') throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'the first hive bin has no "hbin" signature', this.where('hive bin', BASE_BLOCK_SIZE));
    // The root must be a key node.
    this.nodeAt(base.rootCell);
  }

  private where(structure?: string, offset?: number): Where {
    const w: Where = { layer: 'registry', format: 'regf', device: this.label };
    if (structure !== undefined) w.structure = structure;
    if (offset !== undefined) w.offset = offset;
    return w;
  }

  /** Throws CORRUPT naming a structure at a cell offset (file offset = 4096 + cell offset). */
  corrupt(reason: string, structure: string, cell: number, value?: unknown): never {
    throw new DiskProbeError(ErrorCode.CORRUPT, reason, { ...this.where(structure, BASE_BLOCK_SIZE + cell), value });
  }

  private note(code: string, message: string, offset: number): void {
    if (this.findings.filter((f) => f.code === code).length >= MAX_FINDINGS_PER_CODE) return;
    this.findings.push({ severity: code === 'regf.dirty' || code === 'regf.truncated' || code === 'regf.hash' ? 'warning' : 'info', code, message, offset });
  }

  /** An allocated cell at `off` (relative to the hive bins data). */
  cellAt(off: number, what: string): Cell {
    const d = this.data;
    if (off === 0xffffffff || off + 4 > d.length || off % 8 !== 0) this.corrupt(`${what}: cell offset 0x${off.toString(16)} outside the ${d.length}-byte hive bins data or unaligned`, 'cell', off, off);
    const size = u32(d, off) | 0;
    if (size >= 0) this.corrupt(`${what}: cell at 0x${off.toString(16)} is free (size ${size})`, 'cell', off, size);
    const len = -size;
    if (len < 8 || len % 8 !== 0 || off + len > d.length) this.corrupt(`${what}: cell of ${len} bytes at 0x${off.toString(16)} (must be a multiple of 8 inside the hive)`, 'cell', off, len);
    return { at: off + 4, length: len - 4 };
  }

  /** The data offset of the key node in cell `off` (its `nk` signature checked). */
  nodeAt(off: number): number {
    const c = this.cellAt(off, 'key node');
    if (c.length < 76 || this.data[c.at] !== 0x6e || this.data[c.at + 1] !== 0x6b) this.corrupt(`cell 0x${off.toString(16)} is not a key node ("nk")`, 'nk', off);
    const nameLen = u16(this.data, c.at + 72);
    if (76 + nameLen > c.length) this.corrupt(`key name of ${nameLen} bytes in a ${c.length}-byte cell`, 'nk', off, nameLen);
    return c.at;
  }

  keyName(at: number): string {
    const len = u16(this.data, at + 72);
    return u16(this.data, at + 2) & NK.COMP_NAME ? latin1Of(this.data, at + 76, len) : utf16Of(this.data, at + 76, len);
  }

  /** The root key. */
  root(): RegKey {
    return new RegKey(this, this.base.rootCell, '');
  }

  /**
   * The key at `path` (`\\` or `/` separated, relative to the root; a leading root name such as
   * `ROOT\\` or `HKLM\\SYSTEM\\` is not stripped), or undefined. Names compare without regard
   * to case.
   */
  key(path: string): RegKey | undefined {
    let k: RegKey | undefined = this.root();
    for (const part of path.split(/[\\/]+/).filter((p) => p !== '')) {
      k = k.subkey(part);
      if (!k) return undefined;
    }
    return k;
  }

  /**
   * The subkey of key node `nk` (in cell `cell`) whose upper-cased name is `want`. A key with
   * many subkeys gets a name index on first use, so repeated lookups cost one map probe; the
   * indexes are dropped when they hold more than a million names. When two subkeys share a
   * name (a damaged hive), the first stored wins.
   */
  subkeyByName(cell: number, nk: number, want: string, what: string): number | undefined {
    let index = this.names.get(cell);
    if (!index) {
      const cells = this.subkeyCells(nk, what);
      if (cells.length < 8) {
        for (const c of cells) if (upcase(this.keyName(this.nodeAt(c))) === want) return c;
        return undefined;
      }
      if (this.indexed + cells.length > MAX_INDEXED_NAMES) {
        this.names.clear();
        this.indexed = 0;
      }
      index = new Map();
      for (const c of cells) {
        const n = upcase(this.keyName(this.nodeAt(c)));
        if (!index.has(n)) index.set(n, c);
      }
      this.names.set(cell, index);
      this.indexed += cells.length;
    }
    return index.get(want);
  }

  /** The key node cells a key's subkey list names (li, lf, lh, and ri over them). */
  subkeyCells(nk: number, what: string): number[] {
    const d = this.data;
    const count = u32(d, nk + 20);
    const list = u32(d, nk + 28);
    if (count === 0 || list === 0xffffffff) return [];
    if (count > MAX_LIST) this.corrupt(`${what} claims ${count} subkeys`, 'nk', nk - 4, count);
    const out: number[] = [];
    const leaf = (off: number, depth: number): void => {
      const c = this.cellAt(off, `subkey list of ${what}`);
      if (c.length < 4) this.corrupt(`subkey list of ${c.length} bytes`, 'subkey list', off);
      const sig = latin1Of(d, c.at, 2);
      const n = u16(d, c.at + 2);
      const width = sig === 'li' || sig === 'ri' ? 4 : sig === 'lf' || sig === 'lh' ? 8 : 0;
      if (!width) this.corrupt(`subkey list of ${what} has signature ${JSON.stringify(sig)}`, 'subkey list', off, sig);
      if (4 + n * width > c.length) this.corrupt(`subkey list of ${n} entries in a ${c.length}-byte cell`, sig, off, n);
      if (sig === 'ri') {
        // An index root points at leaves only; one that points at another is refused (no loops).
        if (depth > 0) this.corrupt(`index root inside an index root (${what})`, 'ri', off);
        for (let i = 0; i < n; i++) leaf(u32(d, c.at + 4 + i * 4), depth + 1);
        return;
      }
      for (let i = 0; i < n; i++) {
        out.push(u32(d, c.at + 4 + i * width));
        if (out.length > count) this.corrupt(`${what}: subkey lists hold more entries than its ${count} subkeys`, sig, off, out.length);
      }
      if (sig === 'lh' && this.checkHashes && !this.hashesChecked.has(off)) {
        this.hashesChecked.add(off);
        for (let i = 0; i < n; i++) {
          const name = this.keyName(this.nodeAt(u32(d, c.at + 4 + i * 8)));
          const stored = u32(d, c.at + 8 + i * 8);
          const want = nameHash(name);
          if (stored !== want) this.note('regf.hash', `${what}: the hash leaf's entry for ${JSON.stringify(name)} holds 0x${stored.toString(16)}, not 0x${want.toString(16)}: Windows may not find this key`, BASE_BLOCK_SIZE + c.at + 8 + i * 8);
        }
      }
    };
    leaf(list, 0);
    if (out.length !== count) this.note('regf.subkey-count', `${what} claims ${count} subkeys; its lists hold ${out.length}`, BASE_BLOCK_SIZE + list);
    return out;
  }

  /** The value cells of a key node. */
  valueCells(nk: number, what: string): number[] {
    const d = this.data;
    const count = u32(d, nk + 36);
    const list = u32(d, nk + 40);
    if (count === 0 || list === 0xffffffff) return [];
    if (count > MAX_LIST) this.corrupt(`${what} claims ${count} values`, 'nk', nk - 4, count);
    const c = this.cellAt(list, `value list of ${what}`);
    if (count * 4 > c.length) this.corrupt(`${what}: ${count} values in a ${c.length}-byte value list`, 'value list', list, count);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = u32(d, c.at + i * 4);
    return out;
  }

  private vkAt(off: number): number {
    const c = this.cellAt(off, 'value');
    if (c.length < 20 || this.data[c.at] !== 0x76 || this.data[c.at + 1] !== 0x6b) this.corrupt(`cell 0x${off.toString(16)} is not a value ("vk")`, 'vk', off);
    if (20 + u16(this.data, c.at + 2) > c.length) this.corrupt(`value name of ${u16(this.data, c.at + 2)} bytes in a ${c.length}-byte cell`, 'vk', off);
    return c.at;
  }

  valueName(off: number): string {
    const at = this.vkAt(off);
    const len = u16(this.data, at + 2);
    return u16(this.data, at + 16) & 1 ? latin1Of(this.data, at + 20, len) : utf16Of(this.data, at + 20, len);
  }

  /** A value: its name, type and data (inline, in a cell, or in big-data segments). */
  value(off: number): RegValue {
    const d = this.data;
    const at = this.vkAt(off);
    const nameLen = u16(d, at + 2);
    const name = u16(d, at + 16) & 1 ? latin1Of(d, at + 20, nameLen) : utf16Of(d, at + 20, nameLen);
    const rawSize = u32(d, at + 4);
    const size = rawSize & 0x7fffffff;
    const dataOff = u32(d, at + 8);
    const type = u32(d, at + 12);
    let bytes: Uint8Array;
    if (rawSize & 0x80000000) {
      // Inline: up to four bytes in the data offset field.
      bytes = d.slice(at + 8, at + 8 + Math.min(size, 4));
    } else if (size === 0) bytes = new Uint8Array(0);
    else {
      const c = this.cellAt(dataOff, `data of value ${JSON.stringify(name)}`);
      if (size > DB_SEGMENT && this.base.minor > 3 && c.length >= 8 && d[c.at] === 0x64 && d[c.at + 1] === 0x62) bytes = this.bigData(dataOff, c, size, name);
      else if (size > c.length) {
        this.note('regf.value-truncated', `value ${JSON.stringify(name)} declares ${size} bytes in a ${c.length}-byte cell: the cell's bytes are used`, BASE_BLOCK_SIZE + dataOff);
        bytes = d.subarray(c.at, c.at + c.length);
      } else bytes = d.subarray(c.at, c.at + size);
    }
    return { name, type, typeName: REG_TYPES[type] ?? `REG_0x${type.toString(16)}`, bytes, data: decode(type, bytes) };
  }

  /** Big data: a `db` record naming segments of up to 16344 bytes each. */
  private bigData(off: number, c: Cell, size: number, name: string): Uint8Array {
    const d = this.data;
    const n = u16(d, c.at + 2);
    const listOff = u32(d, c.at + 4);
    if (n * DB_SEGMENT < size) this.corrupt(`big data of ${size} bytes in ${n} segments of at most ${DB_SEGMENT}`, 'db', off, n);
    const list = this.cellAt(listOff, `segment list of value ${JSON.stringify(name)}`);
    if (n * 4 > list.length) this.corrupt(`${n} segments in a ${list.length}-byte segment list`, 'db', listOff, n);
    const out = new Uint8Array(size);
    let got = 0;
    for (let i = 0; i < n && got < size; i++) {
      const seg = this.cellAt(u32(d, list.at + i * 4), `segment ${i} of value ${JSON.stringify(name)}`);
      const take = Math.min(DB_SEGMENT, seg.length, size - got);
      out.set(d.subarray(seg.at, seg.at + take), got);
      got += take;
    }
    if (got < size) this.corrupt(`big data segments hold ${got} of ${size} bytes`, 'db', off, got);
    return out;
  }
}

function utf16z(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i + 1 < b.length; i += 2) {
    const c = b[i]! | (b[i + 1]! << 8);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** Decodes a value's bytes by its type (strings stop at their first NUL, as Windows reads them). */
export function decode(type: number, b: Uint8Array): ValueData {
  switch (type) {
    case 1:
    case 2:
    case 6:
      return utf16z(b);
    case 7: {
      const out: string[] = [];
      let s = '';
      for (let i = 0; i + 1 < b.length; i += 2) {
        const c = b[i]! | (b[i + 1]! << 8);
        if (c !== 0) {
          s += String.fromCharCode(c);
          continue;
        }
        if (s === '') break; // the empty string that ends the list
        out.push(s);
        s = '';
      }
      if (s !== '') out.push(s);
      return out;
    }
    case 4:
      return b.length >= 4 ? u32(b, 0) : b;
    case 5:
      return b.length >= 4 ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : b;
    case 11:
      return b.length >= 8 ? (BigInt(u32(b, 4)) << 32n) | BigInt(u32(b, 0)) : b;
    default:
      return b;
  }
}
