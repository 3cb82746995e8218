/**
 * Transaction-log replay for dirty hives, in memory. A hive is dirty when its base block's
 * sequence numbers differ or its checksum is wrong; its last changes are then only in its logs.
 *
 * - New format (Windows 8.1 and later; `.LOG1`, `.LOG2`, base block file type 6): log entries
 *   (`HvLE`) at 512-byte boundaries from the second sector, each with a sequence number, the hive
 *   bins data size, and dirty pages (offset, size, bytes), guarded by two Marvin32 hashes. The
 *   entries of both logs from the primary's secondary sequence number on are applied in sequence
 *   order; the first entry that fails its hashes or its sizes, or a gap in the sequence, ends
 *   replay (the entries before it are applied).
 * - Old format (Windows XP to 8; `.LOG`, file type 1): a copy of the base block, a `DIRT` bitmap
 *   of 512-byte pages of the hive bins data, and the dirty pages in bitmap order. A log applies
 *   when its own sequence numbers agree and its last-written time is the primary's.
 *
 * Reference: Maxim Suhanov's "Windows registry file format specification" (the log formats and
 * recovery rules); Marvin32 as Microsoft published it (the hashes' algorithm).
 */
import type { Finding } from '../container/types.js';
import type { Where } from '../errors.js';
import { BASE_BLOCK_SIZE, parseBaseBlock, u32, type BaseBlock } from './regf.js';

/** What replay did. */
export interface Replay {
  /** `new` (HvLE entries) or `old` (dirty vector). */
  format: 'new' | 'old';
  /** The logs used (`LOG1`, `LOG2`, `LOG`). */
  logs: string[];
  /** New format: the sequence numbers of the entries applied, in order. */
  sequences: number[];
  /** Bytes of pages written into the hive bins data. */
  bytes: number;
}

// The seed is 0x82EF4D887A4E55C5 (the low half goes in the first register). The decimal the
// specification gives, 14219357686671994754, is these eight bytes read in the other order.
const MARVIN_SEED_LO = 0x7a4e55c5;
const MARVIN_SEED_HI = 0x82ef4d88;

function rotl(x: number, n: number): number {
  return ((x << n) | (x >>> (32 - n))) >>> 0;
}

/** Marvin32 over `b`, as its two 32-bit state words: the low half (first register) and the high half, as the log stores them, low first. */
export function marvin32(b: Uint8Array, seedLo = MARVIN_SEED_LO, seedHi = MARVIN_SEED_HI): [number, number] {
  let p0 = seedLo >>> 0;
  let p1 = seedHi >>> 0;
  const mix = (): void => {
    p1 = (p1 ^ p0) >>> 0;
    p0 = (rotl(p0, 20) + p1) >>> 0;
    p1 = (rotl(p1, 9) ^ p0) >>> 0;
    p0 = (rotl(p0, 27) + p1) >>> 0;
    p1 = rotl(p1, 19);
  };
  let i = 0;
  for (; i + 4 <= b.length; i += 4) {
    p0 = (p0 + u32(b, i)) >>> 0;
    mix();
  }
  // The last 0–3 bytes, then a 0x80 byte: one more word, then a final round with nothing added.
  let last = 0x80;
  for (let k = b.length - 1; k >= i; k--) last = ((last << 8) | b[k]!) >>> 0;
  p0 = (p0 + last) >>> 0;
  mix();
  mix();
  return [p0, p1];
}

interface Entry {
  log: string;
  at: number;
  sequence: number;
  hiveBinsSize: number;
  pages: { offset: number; bytes: Uint8Array }[];
}

/** The valid HvLE entries of a new-format log, in file order, up to the first invalid one. */
function entriesOf(name: string, b: Uint8Array, findings: Finding[]): Entry[] {
  const out: Entry[] = [];
  for (let at = 512; at + 40 <= b.length; ) {
    if (b[at] !== 0x48 || b[at + 1] !== 0x76 || b[at + 2] !== 0x4c || b[at + 3] !== 0x45) break; // "HvLE": the end of the entries
    const size = u32(b, at + 4);
    const sequence = u32(b, at + 12);
    const hiveBinsSize = u32(b, at + 16);
    const pages = u32(b, at + 20);
    const bad = (why: string): Entry[] => {
      findings.push({ severity: 'warning', code: 'regf.log-entry', message: `${name}: the entry at ${at} (sequence ${sequence}) ${why}; replay from this log stops before it`, offset: at });
      return out;
    };
    if (size < 40 || size % 512 !== 0 || at + size > b.length) return bad(`has size ${size}, not a multiple of 512 inside the ${b.length}-byte log`);
    if (hiveBinsSize === 0 || hiveBinsSize % 4096 !== 0) return bad(`declares a hive bins data size of ${hiveBinsSize}`);
    if (pages * 8 + 40 > size) return bad(`declares ${pages} dirty pages, more than its size holds`);
    const h1 = marvin32(b.subarray(at + 40, at + size));
    if (h1[0] !== u32(b, at + 24) || h1[1] !== u32(b, at + 28)) return bad('fails its first hash (of its pages)');
    const h2 = marvin32(b.subarray(at, at + 32));
    if (h2[0] !== u32(b, at + 32) || h2[1] !== u32(b, at + 36)) return bad('fails its second hash (of its header)');
    const list: Entry['pages'] = [];
    let data = at + 40 + pages * 8;
    for (let i = 0; i < pages; i++) {
      const offset = u32(b, at + 40 + i * 8);
      const psize = u32(b, at + 44 + i * 8);
      if (psize === 0 || data + psize > at + size || offset + psize > hiveBinsSize) return bad(`has a page of ${psize} bytes at ${offset} outside the entry or the hive bins data`);
      list.push({ offset, bytes: b.subarray(data, data + psize) });
      data += psize;
    }
    out.push({ log: name, at, sequence, hiveBinsSize, pages: list });
    at += size;
  }
  return out;
}

/** A copy of `data` grown to `size` bytes (zeros after). */
function grownCopy(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(size, data.length));
  out.set(data);
  return out;
}

export interface ReplayResult {
  data: Uint8Array;
  base: BaseBlock;
  replay?: Replay;
  findings: Finding[];
}

/**
 * Replays a dirty hive's logs into a copy of its hive bins data. `primary` is the whole primary
 * file, `base` its parsed base block; each log is a whole file.
 */
export function replayLogs(primary: Uint8Array, base: BaseBlock, logs: { name: string; bytes: Uint8Array }[], where: Where): ReplayResult {
  const findings: Finding[] = [];
  const stored = primary.subarray(BASE_BLOCK_SIZE);
  const parsed = logs.flatMap((l) => {
    try {
      return [{ ...l, base: parseBaseBlock(l.bytes, { ...where, device: `${where.device ?? 'hive'}.${l.name}` }) }];
    } catch (e) {
      findings.push({ severity: 'warning', code: 'regf.log', message: `${l.name}: ${(e as Error).message}`, offset: 0 });
      return [];
    }
  });

  // New format: every entry of every log from the secondary sequence number on, in order.
  const fresh = parsed.filter((l) => l.base.fileType === 6);
  if (fresh.length) {
    const all = fresh.flatMap((l) => entriesOf(l.name, l.bytes, findings)).filter((e) => e.sequence >= base.secondarySequence);
    all.sort((a, b) => a.sequence - b.sequence || (a.log < b.log ? -1 : 1));
    const chosen: Entry[] = [];
    for (const e of all) {
      const prev = chosen[chosen.length - 1];
      if (prev && e.sequence === prev.sequence) continue; // the same entry in both logs
      if (prev && e.sequence !== prev.sequence + 1) {
        findings.push({ severity: 'warning', code: 'regf.log-gap', message: `${e.log}: the entry with sequence ${e.sequence} follows ${prev.sequence}; replay stops at the gap`, offset: e.at });
        break;
      }
      chosen.push(e);
    }
    if (chosen.length) {
      let data = grownCopy(stored.subarray(0, Math.min(stored.length, Math.max(...chosen.map((e) => e.hiveBinsSize)))), 0); // a copy: the input is never changed
      let bytes = 0;
      for (const e of chosen) {
        if (data.length < e.hiveBinsSize) data = grownCopy(data, e.hiveBinsSize);
        for (const p of e.pages) {
          data.set(p.bytes, p.offset);
          bytes += p.bytes.length;
        }
      }
      const last = chosen[chosen.length - 1]!;
      const logBase = fresh.find((l) => l.name === chosen[0]!.log)!.base;
      const from = base.checksumOk ? base : { ...logBase, fileType: 0 };
      const result: BaseBlock = { ...from, primarySequence: last.sequence, secondarySequence: last.sequence, hiveBinsSize: last.hiveBinsSize };
      return { data: data.subarray(0, last.hiveBinsSize), base: result, findings, replay: { format: 'new', logs: [...new Set(chosen.map((e) => e.log))], sequences: chosen.map((e) => e.sequence), bytes } };
    }
  }

  // Old format: the log whose base block is whole and matches the primary's last write.
  const firstBinTime = stored.length >= 32 ? [u32(stored, 20), u32(stored, 24)] : [0, 0];
  for (const l of parsed.filter((x) => x.base.fileType === 1 || x.base.fileType === 2)) {
    const lb = l.base;
    const when = base.checksumOk ? [u32(primary, 12), u32(primary, 16)] : firstBinTime;
    if (!lb.checksumOk || lb.primarySequence !== lb.secondarySequence) {
      findings.push({ severity: 'warning', code: 'regf.log', message: `${l.name}: its base block is ${lb.checksumOk ? 'mid-write (sequence numbers differ)' : 'damaged (checksum)'}; not applied`, offset: 0 });
      continue;
    }
    if (u32(l.bytes, 12) !== when[0] || u32(l.bytes, 16) !== when[1]) {
      findings.push({ severity: 'info', code: 'regf.log', message: `${l.name}: written at another time than the primary file; not applied`, offset: 12 });
      continue;
    }
    const sector = 512 * Math.max(1, lb.clustering);
    const b = l.bytes;
    if (b.length < sector + 4 || b[sector] !== 0x44 || b[sector + 1] !== 0x49 || b[sector + 2] !== 0x52 || b[sector + 3] !== 0x54) {
      findings.push({ severity: 'warning', code: 'regf.log', message: `${l.name}: no dirty vector ("DIRT") at ${sector}; not applied`, offset: sector });
      continue;
    }
    const bits = Math.floor(lb.hiveBinsSize / 512);
    const bitmapEnd = sector + 4 + Math.ceil(bits / 8);
    let page = Math.ceil(bitmapEnd / 512) * 512;
    if (bitmapEnd > b.length) {
      findings.push({ severity: 'warning', code: 'regf.log', message: `${l.name}: its dirty vector of ${bits} bits runs past the log's end; not applied`, offset: sector });
      continue;
    }
    const data = grownCopy(stored.subarray(0, Math.min(stored.length, lb.hiveBinsSize)), lb.hiveBinsSize);
    let bytes = 0;
    let ok = true;
    for (let i = 0; i < bits; i++) {
      if (!(b[sector + 4 + (i >> 3)]! & (1 << (i & 7)))) continue;
      if (page + 512 > b.length) {
        findings.push({ severity: 'warning', code: 'regf.log', message: `${l.name}: the dirty vector names more pages than the log holds; not applied`, offset: page });
        ok = false;
        break;
      }
      data.set(b.subarray(page, page + 512), i * 512);
      page += 512;
      bytes += 512;
    }
    if (!ok) continue;
    return { data, base: { ...lb, fileType: 0 }, findings, replay: { format: 'old', logs: [l.name], sequences: [], bytes } };
  }
  return { data: stored, base, findings };
}
