/**
 * MD5 and SHA-256 of image files, streamed (CHECKS.md image.md5). MD5 runs on this thread over
 * double-buffered reads; SHA-256 runs in a worker thread reading the same file on its own, so
 * the two hashes cost about the time of the slower one (the page cache serves the second
 * reader). Progress follows the MD5 reader.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { ImageDigest } from '../check/types.js';
import { readChunks } from '../device/stream.js';
import type { BlockDevice } from '../device/types.js';
import { DiskProbeError, ErrorCode } from '../errors.js';

export interface DigestOptions {
  /** Default both. */
  algorithms?: readonly ('md5' | 'sha256')[];
  /** Called at most every `progressMs` with bytes hashed so far over all files. */
  onProgress?: (bytes: number, total: number) => void;
  progressMs?: number;
  signal?: AbortSignal;
  /** Read size. Default 4 MiB. */
  chunkBytes?: number;
}

/** A worker that hashes one file with one algorithm; its source is a string (see decode-pool.ts). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const { path, algorithm, chunk } = workerData;
const h = createHash(algorithm);
const fd = fs.openSync(path, 'r');
const buf = Buffer.allocUnsafe(chunk);
try {
  for (;;) {
    const n = fs.readSync(fd, buf, 0, chunk, null);
    if (n === 0) break;
    h.update(n === chunk ? buf : buf.subarray(0, n));
  }
  parentPort.postMessage({ digest: h.digest('hex') });
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message || e) });
} finally {
  fs.closeSync(fd);
}
`;

function hashInWorker(path: string, algorithm: string, chunk: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, algorithm, chunk } });
    const onAbort = () => {
      void w.terminate();
      reject(new DiskProbeError(ErrorCode.ABORTED, 'the digest was aborted', { layer: 'check' }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    w.once('message', (m: { digest?: string; error?: string }) => {
      signal?.removeEventListener('abort', onAbort);
      void w.terminate();
      if (m.digest) resolve(m.digest);
      else reject(new DiskProbeError(ErrorCode.IO, `${algorithm} of ${path}: ${m.error}`, { layer: 'check' }));
    });
    w.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new DiskProbeError(ErrorCode.IO, `${algorithm} of ${path}: ${e.message}`, { layer: 'check', cause: e }));
    });
  });
}

/** Digests of each file; the files are read, never written. */
export async function digestFiles(paths: readonly string[], options: DigestOptions = {}): Promise<ImageDigest[]> {
  const algorithms = options.algorithms ?? ['md5', 'sha256'];
  const chunk = options.chunkBytes ?? 4 * 1024 * 1024;
  const sizes: number[] = [];
  for (const p of paths) {
    const fh = await open(p, 'r');
    try {
      sizes.push((await fh.stat()).size);
    } finally {
      await fh.close();
    }
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  let done = 0;
  let last = 0;
  const every = options.progressMs ?? 200;
  const out: ImageDigest[] = [];
  for (let f = 0; f < paths.length; f++) {
    const path = paths[f]!;
    const digest: ImageDigest = { file: path, size: sizes[f]! };
    const sha = algorithms.includes('sha256') ? hashInWorker(path, 'sha256', chunk, options.signal) : undefined;
    sha?.catch(() => undefined);
    if (algorithms.includes('md5')) {
      const h = createHash('md5');
      const fh = await open(path, 'r');
      try {
        // Two buffers: the next read runs while this one is hashed.
        const bufs = [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];
        let i = 0;
        let pending = fh.read(bufs[0]!, 0, chunk, null);
        for (;;) {
          const { bytesRead } = await pending;
          if (options.signal?.aborted) throw new DiskProbeError(ErrorCode.ABORTED, 'the digest was aborted', { layer: 'check' });
          if (bytesRead === 0) break;
          const cur = bufs[i]!;
          i ^= 1;
          pending = fh.read(bufs[i]!, 0, chunk, null);
          h.update(bytesRead === chunk ? cur : cur.subarray(0, bytesRead));
          done += bytesRead;
          const now = Date.now();
          if (options.onProgress && now - last >= every) {
            last = now;
            options.onProgress(done, total);
          }
        }
      } finally {
        await fh.close();
      }
      digest.md5 = h.digest('hex');
    } else done += sizes[f]!;
    if (sha) digest.sha256 = await sha;
    out.push(digest);
  }
  options.onProgress?.(done, total);
  return out;
}

/** Digests of a device's bytes (an image at a URL), read in order; both hashes on this thread. */
export async function digestDevice(dev: BlockDevice, label: string, options: DigestOptions = {}): Promise<ImageDigest> {
  const algorithms = options.algorithms ?? ['md5', 'sha256'];
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  let done = 0;
  let last = 0;
  for await (const chunk of readChunks(dev, { chunkSize: options.chunkBytes ?? 4 * 1024 * 1024, ...(options.signal ? { signal: options.signal } : {}) })) {
    for (const [, h] of hashes) h.update(chunk);
    done += chunk.length;
    if (options.onProgress && Date.now() - last >= (options.progressMs ?? 200)) {
      last = Date.now();
      options.onProgress(done, dev.size);
    }
  }
  const out: ImageDigest = { file: label, size: dev.size };
  for (const [a, h] of hashes) out[a] = h.digest('hex');
  return out;
}
