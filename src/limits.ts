/**
 * The limits that bound what one hostile input can cost, in one place: each has a default that
 * real images stay well inside, and each can be set for a call (`check(…, { limits })`,
 * `inspect(…, { limits })`, and the options of the layer that applies it).
 */

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
   * Milliseconds a whole check may take. Past it the check stops with `E_ABORTED` (the reason
   * names the budget), as if its `AbortSignal` had fired. No default.
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
