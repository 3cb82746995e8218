import type { BlockDevice } from './types.js';

/** Options of {@link readChunks}. */
export interface ChunkOptions {
  /** Bytes per chunk. Default 1 MiB. */
  chunkSize?: number;
  /** First byte (inclusive). Default 0. */
  start?: number;
  /** Last byte, exclusive. Default the device's size. */
  end?: number;
  signal?: AbortSignal;
}

/**
 * Reads a device front to back in chunks, keeping one read ahead in flight so the source and
 * the consumer overlap. Each chunk is a fresh view; copy it if you keep it past the next one.
 */
export async function* readChunks(dev: BlockDevice, options: ChunkOptions = {}): AsyncGenerator<Uint8Array> {
  const chunk = Math.max(1, Math.floor(options.chunkSize ?? 1024 * 1024));
  const end = Math.min(options.end ?? dev.size, dev.size);
  let offset = Math.max(0, options.start ?? 0);
  const next = (at: number) => dev.read(at, Math.min(chunk, end - at), options.signal);
  let pending = offset < end ? next(offset) : undefined;
  while (pending) {
    const current = pending;
    offset += Math.min(chunk, end - offset);
    pending = offset < end ? next(offset) : undefined;
    // A read-ahead that fails after the consumer stops is not an unhandled rejection.
    pending?.catch(() => undefined);
    yield await current;
  }
}
