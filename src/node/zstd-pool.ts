/**
 * zstd decoding on several cores: libzstd (WebAssembly, from zstddec) in worker threads.
 *
 * Requests are gathered until the current task yields. A lone request is decoded inline, on the
 * calling thread, with the core's decoder (a worker's round trip would only add latency);
 * two or more at once, or any whose caller says others are in flight (`hint.concurrent`), go to
 * the workers, one per core, so that a reader with many reads out decodes on every core while
 * the main thread keeps reading. Workers are started on
 * first need and do not keep the process alive.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { browserCodecs } from '../codec/index.js';
import { checkArguments, codecError, type Decoder } from '../codec/types.js';
import { firstZstdFrame } from '../codec/zstd.js';

/**
 * The worker: decodes one exact frame into `size` bytes and sends back what libzstd wrote.
 * Like the core's decoder (src/codec/zstd.ts) it reaches libzstd's exports through zstddec's
 * `_init` and keeps its input and output blocks in the wasm heap between calls; where the
 * exports cannot be reached it uses zstddec's `decode()`.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.zstddec).then(async ({ ZSTDDecoder }) => {
  const decoder = new ZSTDDecoder();
  let instance;
  const init = decoder._init;
  decoder._init = (result) => { instance = result.instance; init.call(decoder, result); };
  await decoder.init();
  const e = instance && instance.exports;
  const direct = e && e.memory && e.malloc && e.free && e.ZSTD_decompress && e.ZSTD_isError;
  const blocks = { in: [0, 0], out: [0, 0] };
  const reserve = (b, size) => {
    if (b[1] >= size) return b[0];
    if (b[0]) e.free(b[0]);
    b[0] = e.malloc(size);
    b[1] = b[0] ? size : 0;
    if (!b[0]) throw new Error('the WebAssembly heap is full');
    return b[0];
  };
  parentPort.on('message', ({ id, frame, size }) => {
    try {
      let out;
      if (direct) {
        const src = reserve(blocks.in, frame.length);
        const dst = reserve(blocks.out, size);
        new Uint8Array(e.memory.buffer).set(frame, src);
        const written = e.ZSTD_decompress(dst, size, src, frame.length);
        if (e.ZSTD_isError(written)) throw new Error('libzstd error ' + (-written >>> 0));
        out = new Uint8Array(e.memory.buffer, dst, written >>> 0).slice();
      } else {
        out = decoder.decode(frame, size); // a copy out of the wasm heap
      }
      parentPort.postMessage({ id, out }, [out.buffer]);
    } catch (err) {
      parentPort.postMessage({ id, error: String((err && err.message) || err) });
    }
  });
}).catch((err) => parentPort.postMessage({ fatal: String((err && err.message) || err) }));
`;

interface Job {
  frame: Uint8Array;
  output: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** Workers decode through zstddec's module, found next to this package's own copy. */
function zstddecUrl(): string {
  const here = typeof __filename === 'string' ? __filename : import.meta.url;
  return pathToFileURL(createRequire(here).resolve('zstddec')).href;
}

declare const __filename: string | undefined;

class ZstdPool {
  private slots: Slot[] | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextId = 1;
  private queue: Job[] = [];
  private failed: Error | undefined;

  constructor(private readonly size: number) {}

  private start(): Slot[] {
    const url = zstddecUrl();
    this.slots = Array.from({ length: this.size }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstddec: url } });
      worker.unref();
      const slot: Slot = { worker, busy: 0 };
      worker.on('message', (m: { id?: number; out?: Uint8Array; error?: string; fatal?: string }) => {
        if (m.fatal !== undefined) return this.fail(new Error(m.fatal));
        // Counted before the job is looked up: a job taken over by fail() must still free the slot.
        slot.busy--;
        if (slot.busy === 0) worker.unref();
        const job = this.jobs.get(m.id!);
        if (!job) return;
        this.jobs.delete(m.id!);
        if (m.error !== undefined) job.reject(codecError('zstd', `invalid compressed data (${m.error})`));
        else if (m.out!.length !== job.output.length) {
          job.reject(codecError('zstd', 'the frame does not decode to exactly the output size', { field: 'decompressed size', value: m.out!.length, expected: `${job.output.length}` }));
        } else {
          job.output.set(m.out!);
          job.resolve();
        }
      });
      worker.on('error', (e) => this.fail(e));
      // A worker that dies takes its jobs with it: decode them inline instead.
      worker.on('exit', (code) => {
        if (code !== 0 && !this.failed) this.fail(new Error(`zstd worker exited with code ${code}`));
      });
      return slot;
    });
    return this.slots;
  }

  /** A worker that cannot start (no wasm, no zstddec): decode everything inline from then on. */
  private fail(e: Error): void {
    this.failed = e;
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id);
      this.inline(job);
    }
    // No worker is used again: none may keep the process alive.
    for (const slot of this.slots ?? []) {
      slot.worker.unref();
      void slot.worker.terminate();
    }
  }

  private inline(job: Job): void {
    // The core's decoder may throw synchronously: that must reject the job, not escape.
    new Promise<void>((resolve) => resolve(browserCodecs.zstd(job.frame, job.output))).then(job.resolve, job.reject);
  }

  decode(frame: Uint8Array, output: Uint8Array, concurrent: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.queue.length === 0) queueMicrotask(() => this.flush());
      this.queue.push({ frame, output, resolve, reject });
      if (concurrent) this.concurrent = true;
    });
  }

  private concurrent = false;

  private flush(): void {
    const batch = this.queue;
    const concurrent = this.concurrent;
    this.queue = [];
    this.concurrent = false;
    if (batch.length === 1 && this.jobs.size === 0 && !concurrent) return this.inline(batch[0]!);
    if (this.failed) return batch.forEach((job) => this.inline(job));
    const slots = this.slots ?? this.start();
    for (const job of batch) {
      const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = this.nextId++;
      this.jobs.set(id, job);
      if (slot.busy === 0) slot.worker.ref();
      slot.busy++;
      // Copied into its own ArrayBuffer before it is transferred: the frame is a view into a
      // larger read buffer (and a Buffer's slice() would still share it).
      const frame = new Uint8Array(job.frame);
      slot.worker.postMessage({ id, frame, size: job.output.length }, [frame.buffer]);
    }
  }
}

let pool: ZstdPool | undefined;

/** zstd for Node: inline for a lone request, worker threads when several arrive together. */
export const zstdParallel: Decoder = (input, output, hint) => {
  checkArguments('zstd', input, output);
  const frame = firstZstdFrame(input, output.length);
  pool ??= new ZstdPool(Math.max(1, availableParallelism()));
  return pool.decode(frame, output, hint?.concurrent === true);
};
