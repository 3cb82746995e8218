/**
 * VHDX log replay, in memory. Reference: [MS-VHDX] 2.3: the log is a circular buffer of 4 KiB
 * sectors at the header's LogOffset; each entry starts with a 64-byte header ("loge",
 * CRC-32C over the whole entry with its Checksum zero, EntryLength, Tail, SequenceNumber,
 * DescriptorCount, LogGuid, FlushedFileOffset, LastFileOffset), then 32-byte descriptors —
 * "zero" (ZeroLength bytes at FileOffset) and "desc" (one 4 KiB sector at FileOffset: 8 leading
 * bytes, the 4084 bytes of the matching "data" sector, 4 trailing bytes) — then the data
 * sectors. 2.3.3: the active sequence is the run of valid, consecutive entries with the largest
 * sequence number whose head's Tail names its first entry; replaying writes its descriptors in
 * order. Here the writes go to an overlay over the file; the file is never written.
 */
import type { BlockDevice } from '../../device/types.js';
import { checkRead } from '../../device/check.js';
import { DiskProbeError, ErrorCode, type Where } from '../../errors.js';
import { crc32cUpdate } from '../../util/crc32c.js';
import { guidString, hasBytes, viewOf } from '../../util/bytes.js';
import type { Finding } from '../types.js';

const SECTOR = 4096;
/** The largest log read (the specification allows any multiple of 1 MiB; Hyper-V writes 1 MiB). */
const MAX_LOG_BYTES = 256 * 1024 * 1024;
const LOGE = [0x6c, 0x6f, 0x67, 0x65];
const DESC = [0x64, 0x65, 0x73, 0x63];
const ZERO = [0x7a, 0x65, 0x72, 0x6f];
const DATA = [0x64, 0x61, 0x74, 0x61];

/** One write of the replay: a 4 KiB sector, or a zeroed range. */
type Op = { at: number; data: Uint8Array } | { at: number; zero: number };

interface Entry {
  pos: number;
  length: number;
  tail: number;
  seq: bigint;
  ops: Op[];
  lastFileOffset: number;
}

/** The log's bytes from `pos` (wrapping at the end), `length` of them. */
function wrap(log: Uint8Array, pos: number, length: number): Uint8Array {
  if (pos + length <= log.length) return log.subarray(pos, pos + length);
  const out = new Uint8Array(length);
  const first = log.length - pos;
  out.set(log.subarray(pos));
  out.set(log.subarray(0, length - first), first);
  return out;
}

/** The entry at `pos`, or undefined when it is not a valid entry of this log. */
function entryAt(log: Uint8Array, pos: number, logGuid: string): Entry | undefined {
  const head = wrap(log, pos, 64);
  if (!hasBytes(head, 0, LOGE)) return undefined;
  const v = viewOf(head);
  const length = v.getUint32(8, true);
  const tail = v.getUint32(12, true);
  const seq = v.getBigUint64(16, true);
  const count = v.getUint32(24, true);
  if (length < SECTOR || length % SECTOR || length > log.length || tail % SECTOR || tail >= log.length || seq === 0n) return undefined;
  if (guidString(head, 32) !== logGuid) return undefined;
  const descriptorSectors = Math.ceil((64 + 32 * count) / SECTOR);
  if (count > (length / 32) || descriptorSectors * SECTOR > length) return undefined;
  const e = wrap(log, pos, length);
  const stored = viewOf(e).getUint32(4, true);
  let c = crc32cUpdate(0xffffffff, e, 0, 4);
  c = crc32cUpdate(c, new Uint8Array(4));
  c = crc32cUpdate(c, e, 8);
  if ((~c >>> 0) !== stored) return undefined;
  const ev = viewOf(e);
  const ops: Op[] = [];
  let dataSector = descriptorSectors;
  for (let i = 0; i < count; i++) {
    const d = 64 + 32 * i;
    const fileOffset = Number(ev.getBigUint64(d + 16, true));
    const dseq = ev.getBigUint64(d + 24, true);
    if (dseq !== seq || !Number.isSafeInteger(fileOffset) || fileOffset % SECTOR) return undefined;
    if (hasBytes(e, d, ZERO)) {
      const zeroLength = Number(ev.getBigUint64(d + 8, true));
      if (!Number.isSafeInteger(zeroLength) || zeroLength % SECTOR) return undefined;
      ops.push({ at: fileOffset, zero: zeroLength });
    } else if (hasBytes(e, d, DESC)) {
      const at = dataSector * SECTOR;
      if (at + SECTOR > length) return undefined;
      const ds = e.subarray(at, at + SECTOR);
      const dv = viewOf(ds);
      if (!hasBytes(ds, 0, DATA) || (BigInt(dv.getUint32(4, true)) << 32n) + BigInt(dv.getUint32(SECTOR - 4, true)) !== seq) return undefined;
      const sector = new Uint8Array(SECTOR);
      sector.set(e.subarray(d + 8, d + 16), 0); // LeadingBytes
      sector.set(ds.subarray(8, SECTOR - 4), 8);
      sector.set(e.subarray(d + 4, d + 8), SECTOR - 4); // TrailingBytes
      ops.push({ at: fileOffset, data: sector });
      dataSector++;
    } else return undefined;
  }
  const last = Number(ev.getBigUint64(56, true));
  return { pos, length, tail, seq, ops, lastFileOffset: Number.isSafeInteger(last) ? last : 0 };
}

/** A device that reads `source` with the replayed writes laid over it, in order. */
function overlay(source: BlockDevice, ops: Op[], size: number): BlockDevice {
  const apply = (offset: number, out: Uint8Array) => {
    const end = offset + out.length;
    for (const op of ops) {
      const opEnd = 'data' in op ? op.at + SECTOR : op.at + op.zero;
      if (opEnd <= offset || op.at >= end) continue;
      const from = Math.max(offset, op.at);
      const to = Math.min(end, opEnd);
      if ('data' in op) out.set(op.data.subarray(from - op.at, to - op.at), from - offset);
      else out.fill(0, from - offset, to - offset);
    }
  };
  const fill = async (offset: number, out: Uint8Array, signal?: AbortSignal) => {
    const have = Math.max(0, Math.min(out.length, source.size - offset));
    if (have) out.set(await source.read(offset, have, signal));
    if (have < out.length) out.fill(0, have);
    apply(offset, out);
  };
  const dev: BlockDevice = {
    size,
    label: source.label,
    read: async (offset, length, signal) => {
      checkRead('vhdx', source.label, size, offset, length, signal);
      const out = new Uint8Array(length);
      await fill(offset, out, signal);
      return out;
    },
    readInto: async (offset, target, signal) => {
      checkRead('vhdx', source.label, size, offset, target.length, signal);
      await fill(offset, target, signal);
    },
  };
  if (source.path !== undefined) (dev as { path?: string }).path = source.path;
  return dev;
}

/**
 * Replays the log of `dev` (its header's LogGuid non-zero) and returns a device that reads the
 * replayed state, or `dev` itself when the log holds no active sequence (then the LogGuid is
 * stale, and a finding says so).
 */
export async function replayLog(dev: BlockDevice, log: { offset: number; length: number; guid: string; headerAt: number }, where: Where, findings: Finding[], signal?: AbortSignal): Promise<BlockDevice> {
  if (log.length < SECTOR || log.length % SECTOR || log.length > MAX_LOG_BYTES || log.offset + log.length > dev.size) {
    throw new DiskProbeError(ErrorCode.CORRUPT, `the log (${log.length} bytes at ${log.offset}) is not a whole number of 4 KiB sectors inside the file`, { ...where, structure: 'header', field: 'LogLength', offset: log.headerAt + 68, value: log.length });
  }
  const bytes = await dev.read(log.offset, log.length, signal);
  const entries = new Map<number, Entry>();
  for (let pos = 0; pos < log.length; pos += SECTOR) {
    const e = entryAt(bytes, pos, log.guid);
    if (e) entries.set(pos, e);
  }
  // Sequences: from each entry, follow the next one while its number is one more.
  let best: Entry[] | undefined;
  for (const start of entries.values()) {
    const run: Entry[] = [start];
    for (let e = start; ; ) {
      const next = entries.get((e.pos + e.length) % log.length);
      if (!next || next.seq !== e.seq + 1n || run.length > entries.size) break;
      run.push(next);
      e = next;
    }
    const head = run[run.length - 1]!;
    const from = run.findIndex((e) => e.pos === head.tail);
    if (from < 0) continue;
    const active = run.slice(from);
    if (!best || head.seq > best[best.length - 1]!.seq) best = active;
  }
  if (!best) {
    findings.push({ severity: 'warning', code: 'vhdx.log-empty', message: `the header names log ${log.guid}, but the log holds no valid sequence of its entries: nothing to replay`, offset: log.offset });
    return dev;
  }
  const ops = best.flatMap((e) => e.ops);
  const size = Math.max(dev.size, ...best.map((e) => e.lastFileOffset));
  findings.push({
    severity: 'warning',
    code: 'vhdx.log-replayed',
    message: `the image was not closed cleanly: its log held ${best.length} entr${best.length === 1 ? 'y' : 'ies'} (sequence ${best[0]!.seq}–${best[best.length - 1]!.seq}, ${ops.length} write(s)), replayed in memory; the file was not changed`,
    offset: log.offset,
  });
  return overlay(dev, ops, size);
}
