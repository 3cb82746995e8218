/**
 * The limits that bound what one hostile input can cost, in one place: each has a default that
 * real images stay well inside, and each can be set for a call (`check(…, { limits })`,
 * `inspect(…, { limits })`, and the options of the layer that applies it).
 */

import { DiskProbeError, ErrorCode, abortError } from './errors.js';

export interface Limits {
  /** Backing files, parents or delta disks followed below an image. Default 16. */
  maxChainDepth?: number;
  /** Bytes of metadata tables (qcow2 L2 tables, …) each image caches. Default 4 MiB. */
  metadataCacheBytes?: number;
  /** Bytes one compressed stream (an initramfs) may expand to. Default 1 GiB. */
  maxExpandedBytes?: number;
  /** Bytes of directory data read for one directory (ext, XFS, FAT). Default 256 MiB. */
  maxDirectoryBytes?: number;
  /** Entries one directory may list. Default 1,000,000. */
  maxDirectoryEntries?: number;
  /** Bytes of a registry hive or log read from a guest or given to `openHive`. Default 1 GiB. */
  maxHiveBytes?: number;
  /**
   * Milliseconds a whole check (or inspection) may take. Past it the work stops with
   * `E_ABORTED` (the reason names the budget), as if its `AbortSignal` had fired. No default.
   */
  timeoutMs?: number;
}

export const DEFAULT_LIMITS = Object.freeze({
  maxChainDepth: 16,
  metadataCacheBytes: 4 * 1024 * 1024,
  maxExpandedBytes: 1024 * 1024 * 1024,
  maxDirectoryBytes: 256 * 1024 * 1024,
  maxDirectoryEntries: 1_000_000,
  maxHiveBytes: 1024 * 1024 * 1024,
}) satisfies Required<Omit<Limits, 'timeoutMs'>>;

/**
 * Runs `work` under `limits.timeoutMs`. When the budget is spent the returned promise rejects at
 * once with `E_ABORTED` naming the budget, whatever `work` is doing; `work` also gets a signal
 * that fires then, so that it stops at its next read instead of running on unobserved. A
 * caller's own abort is reported as the caller's.
 */
export async function withTimeBudget<O extends { signal?: AbortSignal; limits?: Limits }, T>(options: O, work: (options: O) => Promise<T>, what = 'the check'): Promise<T> {
  const ms = options.limits?.timeoutMs;
  if (ms === undefined) return work(options);
  const layer = what === 'the check' ? 'check' : 'guest';
  if (!(ms > 0)) throw new DiskProbeError(ErrorCode.ARGUMENT, `timeoutMs must be a positive number of milliseconds, not ${ms}`, { layer, field: 'timeoutMs', value: ms });
  const budget = new AbortController();
  const own = options.signal;
  let stop: (e: DiskProbeError) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => undefined);
  const timer = setTimeout(() => {
    budget.abort();
    stop(new DiskProbeError(ErrorCode.ABORTED, `${what} ran past its time budget of ${ms} ms`, { layer, field: 'timeoutMs', value: ms }));
  }, ms);
  const onOwn = () => {
    budget.abort(own?.reason);
    stop(abortError(own!, { layer }));
  };
  own?.addEventListener('abort', onOwn, { once: true });
  if (own?.aborted) onOwn();
  try {
    const running = work({ ...options, signal: budget.signal });
    // Once the race is lost, the work's own end (a later E_ABORTED) is nobody's concern.
    running.catch(() => undefined);
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    own?.removeEventListener('abort', onOwn);
  }
}
