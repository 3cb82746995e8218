import { DiskProbeError, ErrorCode, abortError } from '../errors.js';
import { checkRead } from './check.js';
import type { BlockDevice } from './types.js';

/** Options of {@link cached}. */
export interface CacheOptions {
  /** Size of a cached block: a power of two from 512 bytes to 16 MiB. Default 64 KiB. */
  blockSize?: number;
  /** Upper bound on the bytes the cache holds. Default 32 MiB. */
  maxBytes?: number;
  /** Longest single read the cache sends to the device when it merges misses. Default 16 MiB. */
  maxRunBytes?: number;
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
  /** The buffer holding this block once read: possibly a run shared with its neighbours. */
  buf?: Uint8Array;
  /** Where this block starts in `buf`. */
  at: number;
  /** Settles when `buf` is set, or rejects with the read's error. */
  ready: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
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
 * - Reads larger than half the cache go straight to the device.
 */
export function cached(dev: BlockDevice, options: CacheOptions = {}): CachedDevice {
  const blockSize = options.blockSize ?? 64 * 1024;
  const maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
  const maxRunBytes = Math.max(options.maxRunBytes ?? 16 * 1024 * 1024, blockSize);
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
  const runBlocks = Math.floor(maxRunBytes / blockSize);
  const size = dev.size;
  const label = dev.label;
  const blocks = new Map<number, Block>();
  const stats: CacheStats = { hits: 0, misses: 0, reads: 0, bytesRead: 0 };
  let queued: number[] = [];

  function newBlock(): Block {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const ready = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A rejection is delivered to whoever awaits the block; never report it as unhandled.
    ready.catch(() => undefined);
    return { at: 0, ready, resolve, reject };
  }

  function evict(): void {
    // Map iteration order is insertion order, and hits re-insert: the first key is the LRU.
    while (blocks.size > maxBlocks) {
      const oldest = blocks.keys().next();
      if (oldest.done) break;
      blocks.delete(oldest.value);
    }
  }

  function flush(): void {
    const indices = queued.sort((a, b) => a - b);
    queued = [];
    let i = 0;
    while (i < indices.length) {
      const first = indices[i]!;
      let last = first;
      while (i + 1 < indices.length && indices[i + 1] === last + 1 && last - first + 1 < runBlocks) last = indices[++i]!;
      i++;
      void fetchRun(first, last);
    }
  }

  async function fetchRun(first: number, last: number): Promise<void> {
    const start = first * blockSize;
    const end = Math.min((last + 1) * blockSize, size);
    const run: Block[] = [];
    for (let b = first; b <= last; b++) run.push(pendingOf(b));
    try {
      stats.reads++;
      const buf = await dev.read(start, end - start);
      stats.bytesRead += buf.length;
      for (let k = 0; k < run.length; k++) {
        const block = run[k]!;
        block.buf = buf;
        block.at = k * blockSize;
        block.resolve();
      }
    } catch (e) {
      for (let k = 0; k < run.length; k++) {
        const index = first + k;
        if (blocks.get(index) === run[k]) blocks.delete(index);
        run[k]!.reject(e);
      }
    }
  }

  // The block object queued for `index` (created by `lookup`). Pending blocks are kept in a
  // side map so eviction of the LRU map cannot lose a block whose read has not started.
  const pending = new Map<number, Block>();
  function pendingOf(index: number): Block {
    const block = pending.get(index)!;
    pending.delete(index);
    return block;
  }

  function lookup(index: number): Block {
    let block = blocks.get(index);
    if (block) {
      stats.hits++;
      blocks.delete(index);
      blocks.set(index, block);
      return block;
    }
    block = pending.get(index);
    if (block) {
      stats.hits++;
      return block;
    }
    stats.misses++;
    block = newBlock();
    blocks.set(index, block);
    pending.set(index, block);
    if (queued.length === 0) queueMicrotask(flush);
    queued.push(index);
    return block;
  }

  async function read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkRead('cache', label, size, offset, length, signal);
    if (length === 0) return EMPTY;
    if (length > maxBytes / 2) {
      stats.reads++;
      const direct = await dev.read(offset, length, signal);
      stats.bytesRead += direct.length;
      return direct;
    }
    const first = Math.floor(offset / blockSize);
    const last = Math.floor((offset + length - 1) / blockSize);
    const parts: Block[] = [];
    for (let b = first; b <= last; b++) parts.push(lookup(b));
    evict();
    await waitAll(parts, signal);

    const head = parts[0]!;
    const skip = offset - first * blockSize;
    // One run holds every block, contiguously: hand out a view of it.
    let contiguous = true;
    for (let k = 1; k < parts.length && contiguous; k++) {
      contiguous = parts[k]!.buf === head.buf && parts[k]!.at === head.at + k * blockSize;
    }
    if (contiguous) return head.buf!.subarray(head.at + skip, head.at + skip + length);

    const out = new Uint8Array(length);
    let written = 0;
    for (let k = 0; k < parts.length; k++) {
      const block = parts[k]!;
      const from = block.at + (k === 0 ? skip : 0);
      const n = Math.min(length - written, blockSize - (k === 0 ? skip : 0));
      out.set(block.buf!.subarray(from, from + n), written);
      written += n;
    }
    return out;
  }

  function waitAll(parts: Block[], signal: AbortSignal | undefined): Promise<unknown> {
    const all = parts.length === 1 ? parts[0]!.ready : Promise.all(parts.map((p) => p.ready));
    if (!signal) return all;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal, { layer: 'device', format: 'cache', device: label }));
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  const device: CachedDevice = {
    size,
    label,
    stats,
    inner: dev,
    read,
  };
  if (dev.close) {
    const close = dev.close.bind(dev);
    return { ...device, close: () => close() };
  }
  return device;
}
