/**
 * The one byte interface everything in diskprobe reads through (DESIGN.md, "BlockDevice").
 * Async, positional (no cursor), read-only.
 */

/** A read-only, random-access source of bytes. */
export interface BlockDevice {
  /** Size in bytes (an integer below 2^53). */
  readonly size: number;
  /** Where the bytes come from, for messages: a file name, a URL, `memory`. */
  readonly label: string;
  /**
   * Resolves to exactly `length` bytes starting at `offset`, or rejects with a
   * `DiskProbeError`. A range outside `[0, size]` is an `E_RANGE` error, never a short read.
   *
   * The result may share memory with the source or a cache: treat it as read-only, and copy
   * it if it must outlive later reads unchanged.
   */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Optional: reads `target.length` bytes starting at `offset` into `target`, for callers that
   * reuse their buffers (a scan over a whole image allocates nothing per read). Same range
   * checks and errors as `read`; on an error the contents of `target` are unspecified. Devices
   * without it are read with `read` and a copy: call it through `readInto()` in
   * `device/read-into.ts`, which picks.
   */
  readInto?(offset: number, target: Uint8Array, signal?: AbortSignal): Promise<void>;
  /** Releases what the device holds open (a file handle). Optional; safe to call twice. */
  close?(): Promise<void>;
  /**
   * The local file the bytes come from, as a real path, where there is one. Wrappers pass it
   * on; resolvers use it to find referenced files, and readers to detect loops.
   */
  readonly path?: string;
}

/** The largest single read a device accepts; larger reads are a caller bug or a crafted size. */
export const MAX_READ_BYTES = 256 * 1024 * 1024;
