/**
 * Reads the rows of one table of an SQLite 3 database file, read-only and bounded, for rpm's
 * `rpmdb.sqlite`. Reference: sqlite.org "Database File Format" (§1.3 the header, §1.6 b-tree
 * pages, §1.6 cell payload and overflow pages, §2.1 the record format, §2.6 the schema table).
 * Only what a committed database holds is read: a write-ahead log beside the file (`-wal`) is
 * not applied. WITHOUT ROWID tables and indexes are not read.
 */
import { DiskProbeError, ErrorCode } from '../errors.js';

export type SqlValue = null | number | bigint | string | Uint8Array;

function fail(reason: string, offset?: number): DiskProbeError {
  return new DiskProbeError(ErrorCode.CORRUPT, reason, { layer: 'guest', format: 'sqlite', ...(offset === undefined ? {} : { offset }) });
}

const MAGIC = 'SQLite format 3\u0000';
const MAX_ROWS = 1_000_000;

export class SqliteFile {
  readonly pageSize: number;
  private readonly usable: number;
  private readonly pages: number;

  constructor(private readonly db: Uint8Array) {
    if (db.length < 100 || new TextDecoder('latin1').decode(db.subarray(0, 16)) !== MAGIC) {
      throw new DiskProbeError(ErrorCode.BAD_MAGIC, 'not an SQLite 3 database', { layer: 'guest', format: 'sqlite', offset: 0 });
    }
    const ps = (db[16]! << 8) | db[17]!;
    this.pageSize = ps === 1 ? 65536 : ps;
    if (this.pageSize < 512 || this.pageSize > 65536 || (this.pageSize & (this.pageSize - 1)) !== 0) throw fail(`page size ${this.pageSize}`, 16);
    this.usable = this.pageSize - db[20]!;
    if (this.usable < 480) throw fail('too much reserved space per page', 20);
    this.pages = Math.floor(db.length / this.pageSize);
    this.budget = db.length;
    if (db[56] !== 0 && (((db[56]! << 24) | (db[57]! << 16) | (db[58]! << 8) | db[59]!) >>> 0) !== 1) {
      throw new DiskProbeError(ErrorCode.UNSUPPORTED, 'text in UTF-16', { layer: 'guest', format: 'sqlite', offset: 56 });
    }
  }

  private page(n: number): { at: number; base: number } {
    if (!Number.isInteger(n) || n < 1 || n > this.pages) throw fail(`page ${n} lies outside the file (${this.pages} pages)`);
    const at = (n - 1) * this.pageSize;
    return { at, base: n === 1 ? at + 100 : at };
  }

  private varint(at: number): [number, number] {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      if (at + i >= this.db.length) throw fail('a number runs past the file', at);
      const b = this.db[at + i]!;
      if (i === 8) return [v * 256 + b, 9];
      v = v * 128 + (b & 0x7f);
      if (!(b & 0x80)) return [v, i + 1];
    }
    return [v, 9];
  }

  private u32(at: number): number {
    const d = this.db;
    return ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
  }

  /**
   * Payload bytes the cells of this file may still claim: each byte of a sound file belongs to at
   * most one cell, so cells that claim more (a damaged cell count or size) are an error, not
   * gigabytes of copies of the same overflow pages.
   */
  private budget: number;

  /** A cell's payload, following its overflow chain. */
  private payload(at: number, size: number): Uint8Array {
    this.budget -= size;
    if (this.budget < 0) throw fail('cells claim more payload than the file holds', at);
    const u = this.usable;
    const x = u - 35;
    if (size > this.pages * u) throw fail(`a cell of ${size} bytes, more than the file holds`, at);
    if (size <= x) {
      if (at + size > this.db.length) throw fail('a cell runs past the file', at);
      return this.db.subarray(at, at + size);
    }
    const m = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = m + ((size - m) % (u - 4));
    const local = k <= x ? k : m;
    const out = new Uint8Array(size);
    out.set(this.db.subarray(at, at + local));
    let filled = local;
    let next = this.u32(at + local);
    let hops = 0;
    while (filled < size) {
      if (next === 0 || ++hops > this.pages) throw fail('an overflow chain ends early or loops', at);
      const { at: p } = this.page(next);
      const n = Math.min(u - 4, size - filled);
      out.set(this.db.subarray(p + 4, p + 4 + n), filled);
      filled += n;
      next = this.u32(p);
    }
    return out;
  }

  /** Every row of the table b-tree rooted at `root`, as record values. */
  rows(root: number): SqlValue[][] {
    const out: SqlValue[][] = [];
    const seen = new Set<number>();
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) throw fail(`page ${n} is reached twice (a loop in the b-tree)`);
      seen.add(n);
      const { at, base } = this.page(n);
      const type = this.db[base]!;
      const cells = (this.db[base + 3]! << 8) | this.db[base + 4]!;
      if (type === 0x05) {
        const pointers = base + 12;
        const children: number[] = [];
        for (let i = 0; i < cells; i++) children.push(this.u32(at + ((this.db[pointers + 2 * i]! << 8) | this.db[pointers + 2 * i + 1]!)));
        children.push(this.u32(base + 8));
        // Depth-first, in key order.
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
      } else if (type === 0x0d) {
        const pointers = base + 8;
        for (let i = 0; i < cells; i++) {
          let c = at + ((this.db[pointers + 2 * i]! << 8) | this.db[pointers + 2 * i + 1]!);
          const [size, n1] = this.varint(c);
          c += n1;
          const [rowid, n2] = this.varint(c);
          c += n2;
          if (out.length >= MAX_ROWS) throw new DiskProbeError(ErrorCode.LIMIT, `more than ${MAX_ROWS} rows`, { layer: 'guest', format: 'sqlite' });
          out.push(this.record(this.payload(c, size), rowid));
        }
      } else throw fail(`page ${n} is not a table b-tree page (type ${type})`, at);
    }
    return out;
  }

  /** A record's values; an INTEGER PRIMARY KEY column stored as NULL reads as the rowid. */
  private record(p: Uint8Array, rowid: number): SqlValue[] {
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let at = 0;
    const varint = (): number => {
      let v = 0;
      for (let i = 0; i < 9; i++) {
        if (at >= p.length) throw fail('a record header runs past its payload');
        const b = p[at++]!;
        if (i === 8) return v * 256 + b;
        v = v * 128 + (b & 0x7f);
        if (!(b & 0x80)) return v;
      }
      return v;
    };
    const headerSize = varint();
    const types: number[] = [];
    while (at < headerSize) types.push(varint());
    at = headerSize;
    const values: SqlValue[] = [];
    for (const t of types) {
      const int = (n: number) => {
        if (at + n > p.length) throw fail('a record value runs past its payload');
        let v = 0n;
        for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(p[at + i]!);
        at += n;
        const signed = BigInt.asIntN(n * 8, v);
        return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(signed) : signed;
      };
      if (t === 0) values.push(values.length === 0 ? rowid : null);
      else if (t >= 1 && t <= 4) values.push(int(t));
      else if (t === 5) values.push(int(6));
      else if (t === 6) values.push(int(8));
      else if (t === 7) {
        if (at + 8 > p.length) throw fail('a record value runs past its payload');
        values.push(view.getFloat64(at));
        at += 8;
      } else if (t === 8 || t === 9) values.push(t - 8);
      else if (t >= 12) {
        const n = t % 2 === 0 ? (t - 12) / 2 : (t - 13) / 2;
        if (at + n > p.length) throw fail('a record value runs past its payload');
        const bytes = p.subarray(at, at + n);
        values.push(t % 2 === 0 ? bytes : new TextDecoder().decode(bytes));
        at += n;
      } else throw fail(`serial type ${t}`);
    }
    return values;
  }

  /** The root page of table `name`, from the schema table on page 1. */
  tableRoot(name: string): number | undefined {
    for (const row of this.rows(1)) {
      if (row[0] === 'table' && row[1] === name && typeof row[3] === 'number') return row[3];
    }
    return undefined;
  }
}
