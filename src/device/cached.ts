import { DiskProbeError, ErrorCode, abortError } from '../errors.js';
import { checkRead } from './check.js';
import { forward } from './forward.js';
import { readInto as readIntoDevice } from './read-into.js';
import type { BlockDevice } from './types.js';

/** Options of {@link cached}. */
export interface CacheOptions {
  /** Size of a cached block: a power of two from 512 bytes to 16 MiB. Default 64 KiB. */
  blockSize?: number;
  /** Upper bound on the bytes the cache holds. Default 32 MiB. */
  maxBytes?: number;
  /** Longest single read the cache sends to the device when it merges misses. Default 16 MiB. */
  maxRunBytes?: number;
  /**
   * Reads of at least this many bytes go straight to the device unless every block they cover
   * is already cached: a sequential scan then neither evicts the metadata the cache is for nor
   * pays for retaining bytes it reads once (retained buffers get promoted and cost
   * mark-compact collections). Default: 4 blocks, and at least 256 KiB.
   */
  directBytes?: number;
  /**
   * Reuse the buffers of evicted blocks for new ones, so that a long scan through the cache
   * allocates nothing once it is full (the dead buffers of a scan otherwise hold tens of MiB of
   * resident memory until the collector runs). Then each block is read into a buffer of its
   * own, one device read per block, and `read` copies instead of handing out views (a view
   * would change under its holder when the buffer is reused). Default false.
   */
  reuse?: boolean;
}

/** Counters of a cached device. */
export interface CacheStats {
  /** Blocks found in the cache (complete or in flight). */
  hits: number;
  /** Blocks that had to be read. */
  misses: number;
  /** Reads sent to the underlying device. */
  reads: number;
  /** Bytes read from the underlying device. */
  bytesRead: number;
}

/** A device with a block cache in front of it. */
export interface CachedDevice extends BlockDevice {
  readonly stats: CacheStats;
  /** The device behind the cache. */
  readonly inner: BlockDevice;
}

interface Block {
  index: number;
  /** The buffer holding this block once read: possibly a run shared with its neighbours. */
  buf?: Uint8Array;
  /** Where this block starts in `buf`. */
  at: number;
  /** The read's error, if it failed. */
  error?: unknown;
  /** The batch that reads it; settles once `buf` or `error` is set. Cleared when read. */
  batch?: Batch;
  /** Read again since the last eviction pass (a second chance, as in CLOCK). */
  used?: boolean;
  /** `reuse`: readers between looking the block up and copying out of it. */
  pins?: number;
  /** `reuse`: evicted while pinned; its buffer is reused when the last reader is done. */
  dropped?: boolean;
}

/** The misses gathered in one task: read together, settled together. */
interface Batch {
  blocks: Block[];
  /** Resolves (never rejects) when every run of the batch has been read or has failed. */
  done: Promise<void>;
  settle: () => void;
}

const EMPTY = new Uint8Array(0);

/**
 * Puts a bounded LRU cache of aligned blocks in front of `dev`.
 *
 * - Blocks being read are shared: a second read of the same block waits for the first.
 * - Misses are not read at once but gathered until the current task yields, then sorted and
 *   merged into runs of adjacent blocks, one device read per run. So both one large read and
 *   many small reads issued together (`Promise.all`) cost one request each run.
 * - When every block of a request lies in one run, the result is a view of that run's buffer,
 *   not a copy.
 * - A caller's AbortSignal stops that caller's wait, never a read other callers share.
 * - Large reads (`directBytes`) that are not wholly cached go straight to the device.
 */
export function cached(dev: BlockDevice, options: CacheOptions = {}): CachedDevice {
  const blockSize = options.blockSize ?? 64 * 1024;
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const maxRunBytes = Math.max(options.maxRunBytes ?? 16 * 1024 * 1024, blockSize);
  const directBytes = Math.min(options.directBytes ?? Math.max(4 * blockSize, 256 * 1024), Math.floor(maxBytes / 2));
  if (!Number.isInteger(blockSize) || blockSize < 512 || blockSize > 16 * 1024 * 1024 || (blockSize & (blockSize - 1)) !== 0) {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'cache blockSize must be a power of two from 512 to 16 MiB', {
      layer: 'device',
      format: 'cache',
      device: dev.label,
      field: 'blockSize',
      value: blockSize,
    });
  }
  if (!Number.isInteger(maxBytes) || maxBytes < blockSize) {
    throw new DiskProbeError(ErrorCode.ARGUMENT, 'cache maxBytes must be at least one block', {
      layer: 'device',
      format: 'cache',
      device: dev.label,
      field: 'maxBytes',
      value: maxBytes,
    });
  }
  const maxBlocks = Math.floor(maxBytes / blockSize);
  const reuse = options.reuse === true;
  /** Buffers of evicted blocks, for the next misses (`reuse`). */
  const spare: Uint8Array[] = [];
  const runBlocks = Math.floor(maxRunBytes / blockSize);
  const size = dev.size;
  const label = dev.label;
  const blocks = new Map<number, Block>();
  const stats: CacheStats = { hits: 0, misses: 0, reads: 0, bytesRead: 0 };
  let batch: Batch | undefined;
  // A run's buffer stays alive while any of its blocks is cached: count what is held by
  // buffers, not by blocks, so one hot block of a 16 MiB run counts as 16 MiB.
  const holders = new Map<Uint8Array, number>();
  let retained = 0;

  function hold(buf: Uint8Array): void {
    const n = holders.get(buf) ?? 0;
    if (n === 0) retained += buf.length;
    holders.set(buf, n + 1);
  }

  function release(block: Block): void {
    const buf = block.buf;
    if (!buf) return;
    const n = holders.get(buf)! - 1;
    if (n === 0) {
      holders.delete(buf);
      retained -= buf.length;
      // A device read into a reused buffer may write it on another thread at any moment:
      // not while a reader still has to copy out of it.
      if (reuse) {
        if (block.pins) block.dropped = true;
        else if (spare.length < maxBlocks) spare.push(buf);
      }
    } else holders.set(buf, n);
  }

  function remove(index: number): void {
    const block = blocks.get(index);
    if (!block) return;
    blocks.delete(index);
    release(block);
  }

  function evict(): void {
    if (blocks.size <= maxBlocks && retained <= maxBytes) return;
    // One pass from the oldest, down to 7/8 of the limits so that passes are rare: a block read
    // again since the last pass is moved to the back instead (CLOCK's second chance). Hits only
    // mark a block: deleting and re-setting a Map key on every hit costs microseconds in V8,
    // and taking keys().next() after each of many deletions walks the deleted slots.
    const blockLow = Math.max(1, Math.floor((maxBlocks * 7) / 8));
    const byteLow = Math.floor((maxBytes * 7) / 8);
    let budget = blocks.size * 2;
    for (const [index, block] of blocks) {
      if ((blocks.size <= blockLow && retained <= byteLow) || budget-- <= 0) break;
      if (block.used) {
        block.used = false;
        blocks.delete(index);
        blocks.set(index, block);
      } else remove(index);
    }
  }

  /** Reads a batch: its blocks sorted, merged into runs of adjacent blocks, one read per run. */
  function flush(current: Batch): void {
    batch = undefined;
    const list = current.blocks.sort((a, b) => a.index - b.index);
    const runs: Promise<void>[] = [];
    let i = 0;
    while (i < list.length) {
      const first = i;
      while (i + 1 < list.length && list[i + 1]!.index === list[i]!.index + 1 && i + 1 - first < runBlocks) i++;
      i++;
      runs.push(fetchRun(list, first, i));
    }
    void Promise.all(runs).then(current.settle);
  }

  async function fetchRun(list: Block[], from: number, to: number): Promise<void> {
    if (reuse && to - from > 1) {
      await Promise.all(Array.from({ length: to - from }, (_, k) => fetchRun(list, from + k, from + k + 1)));
      return;
    }
    const start = list[from]!.index * blockSize;
    const end = Math.min((list[to - 1]!.index + 1) * blockSize, size);
    try {
      stats.reads++;
      let buf: Uint8Array;
      if (reuse) {
        buf = spare.pop() ?? new Uint8Array(blockSize);
        await readIntoDevice(dev, start, end - start === blockSize ? buf : buf.subarray(0, end - start));
      } else buf = await dev.read(start, end - start);
      stats.bytesRead += end - start;
      if (!reuse && buf.length !== end - start) {
        throw new DiskProbeError(ErrorCode.TRUNCATED, `device returned ${buf.length} of ${end - start} bytes`, { layer: 'device', format: 'cache', device: label, offset: start });
      }
      for (let k = from; k < to; k++) {
        const block = list[k]!;
        block.buf = buf;
        block.at = (k - from) * blockSize;
        block.batch = undefined;
        if (blocks.get(block.index) === block) hold(buf);
      }
      evict();
    } catch (error) {
      for (let k = from; k < to; k++) {
        const block = list[k]!;
        block.error = error;
        block.batch = undefined;
        if (blocks.get(block.index) === block) remove(block.index);
      }
    }
  }

  function lookup(index: number): Block {
    let block = blocks.get(index);
    if (block) {
      stats.hits++;
      block.used = true;
      return block;
    }
    stats.misses++;
    if (!batch) {
      let settle!: () => void;
      const done = new Promise<void>((resolve) => (settle = resolve));
      const created: Batch = { blocks: [], done, settle };
      batch = created;
      queueMicrotask(() => flush(created));
    }
    block = { index, at: 0, batch };
    batch.blocks.push(block);
    blocks.set(index, block);
    return block;
  }

  /**
   * The blocks `first..last`, read (gathered with other misses of this task), checked and
   * handed to `use`; with `reuse`, pinned until `use` returns.
   */
  async function withBlocks<T>(first: number, last: number, signal: AbortSignal | undefined, use: (parts: Block[]) => T): Promise<T> {
    const parts: Block[] = [];
    for (let b = first; b <= last; b++) {
      const block = lookup(b);
      if (reuse) block.pins = (block.pins ?? 0) + 1;
      parts.push(block);
    }
    try {
      evict();
      await settled(parts, signal);
      for (const block of parts) if (block.error !== undefined) throw block.error;
      return use(parts);
    } finally {
      if (reuse) for (const block of parts) unpin(block);
    }
  }

  function unpin(block: Block): void {
    if (--block.pins! > 0 || !block.dropped) return;
    block.dropped = false;
    if (block.buf && spare.length < maxBlocks) spare.push(block.buf);
  }

  /** Copies the request's bytes out of its blocks into `out`. */
  function copyOut(parts: Block[], skip: number, out: Uint8Array): void {
    let written = 0;
    for (let k = 0; k < parts.length; k++) {
      const block = parts[k]!;
      const from = block.at + (k === 0 ? skip : 0);
      const n = Math.min(out.length - written, blockSize - (k === 0 ? skip : 0));
      out.set(block.buf!.subarray(from, from + n), written);
      written += n;
    }
  }

  async function read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('cache', label, size, offset, length, signal);
    if (length === 0) return EMPTY;
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((offset + length - 1) / blockSize);
    if (length >= directBytes && !allCached(first, last)) {
      stats.reads++;
      const direct = await dev.read(offset, length, signal);
      stats.bytesRead += direct.length;
      return direct;
    }
    const skip = offset - first * blockSize;
    return withBlocks(first, last, signal, (parts) => {
      const head = parts[0]!;
      // One run holds every block, contiguously: hand out a view of it.
      let contiguous = !reuse;
      for (let k = 1; k < parts.length && contiguous; k++) {
        contiguous = parts[k]!.buf === head.buf && parts[k]!.at === head.at + k * blockSize;
      }
      if (contiguous) return head.buf!.subarray(head.at + skip, head.at + skip + length);
      const out = new Uint8Array(length);
      copyOut(parts, skip, out);
      return out;
    });
  }

  async function readInto(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void> {
    const length = target.length;
    checkRead('cache', label, size, offset, length, signal);
    if (length === 0) return;
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((offset + length - 1) / blockSize);
    if (length >= directBytes && !allCached(first, last)) {
      stats.reads++;
      await readIntoDevice(dev, offset, target, signal);
      stats.bytesRead += length;
      return;
    }
    await withBlocks(first, last, signal, (parts) => copyOut(parts, offset - first * blockSize, target));
  }

  function allCached(first: number, last: number): boolean {
    for (let b = first; b <= last; b++) if (!blocks.has(b)) return false;
    return true;
  }

  /** Waits until every block is read (or failed); one promise per batch, usually one. */
  function settled(parts: Block[], signal: AbortSignal | undefined): Promise<unknown> | undefined {
    let waits: Promise<void> | Promise<void>[] | undefined;
    for (const block of parts) {
      const b = block.batch;
      if (!b) continue;
      if (waits === undefined) waits = b.done;
      else if (Array.isArray(waits)) {
        if (!waits.includes(b.done)) waits.push(b.done);
      } else if (waits !== b.done) waits = [waits, b.done];
    }
    if (waits === undefined) return undefined;
    const all = Array.isArray(waits) ? Promise.all(waits) : waits;
    if (!signal) return all;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal, { layer: 'device', format: 'cache', device: label }));
      signal.addEventListener('abort', onAbort, { once: true });
      void all.then((v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      });
    });
  }

  return forward(dev, { size, label, stats, inner: dev, read, readInto } as CachedDevice) as CachedDevice;
}
