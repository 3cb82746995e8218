/**
 * zstd decoding on several cores: libzstd (WebAssembly, from zstddec) in worker threads.
 *
 * Requests are gathered until the current task yields. A lone request is decoded inline, on the
 * calling thread, with the core's decoder (a worker's round trip would only add latency);
 * two or more at once, or any whose caller says others are in flight (`hint.concurrent`), go to
 * the workers, one per core, so that a reader with many reads out decodes on every core while
 * the main thread keeps reading.
 *
 * Frames and their output travel through shared memory, not messages: each worker has a
 * mailbox (one SharedArrayBuffer of a few slots), the main thread copies a frame into a free
 * slot and posts the slot's number, the worker decodes it into the same slot and posts the
 * number back. Nothing is allocated per frame on either side. Sending each frame and result as
 * a transferred ArrayBuffer, as this pool first did, left hundreds of MiB of dead buffers for
 * the collector (23 % of the main thread's time and 160 MiB of resident memory over a 1 GiB
 * image; see docs/benchmarks.md). When every slot is taken, requests wait in order.
 *
 * Workers are started on first need and do not keep the process alive when idle.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { browserCodecs } from '../codec/index.js';
import { checkArguments, codecError, type Decoder } from '../codec/types.js';
import { firstZstdFrame, zstdModule } from '../codec/zstd.js';

/**
 * A mailbox: `slots` records of three int32 (`inLength`, `outLength`, `result`) at the start,
 * then `slots` data areas of `slotBytes` each, from byte `base`: the frame at the area's
 * start, the output after it at the next multiple of 8. `result` is the byte count libzstd
 * wrote, or -1 after an error (the message says which).
 */
const RECORD_INTS = 3;
/** Bytes of data areas one worker's mailbox may hold. */
const MAILBOX_BYTES = 4 * 1024 * 1024;
/** Slots per worker: enough that a worker always has the next frame waiting. */
const MAX_SLOTS = 8;
const MIN_SLOTS = 2;
/** A frame plus its output larger than this is decoded inline, not copied through a mailbox. */
const MAX_SLOT_BYTES = 32 * 1024 * 1024;

/**
 * The worker: decodes the frame in a slot of its mailbox into the same slot, calling libzstd
 * directly with input and output blocks kept in its wasm heap between calls. It instantiates
 * the module the main thread compiled (src/codec/zstd.ts): no second compilation, and none of
 * zstddec's JavaScript (which would load a fetch implementation to read its embedded module).
 * The module's only import is emscripten's memory-growth notice, which needs no answer here:
 * every call makes its views of the heap afresh.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let e;
try {
  const imports = {};
  for (const i of WebAssembly.Module.imports(workerData.module)) {
    if (i.kind !== 'function') throw new Error('unexpected import ' + i.module + '.' + i.name);
    (imports[i.module] ??= {})[i.name] = () => {};
  }
  e = new WebAssembly.Instance(workerData.module, imports).exports;
} catch (err) {
  parentPort.postMessage({ fatal: String((err && err.message) || err) });
}
const blocks = { in: [0, 0], out: [0, 0] };
const reserve = (b, size) => {
  if (b[1] >= size) return b[0];
  if (b[0]) e.free(b[0]);
  b[0] = e.malloc(size);
  b[1] = b[0] ? size : 0;
  if (!b[0]) throw new Error('the WebAssembly heap is full');
  return b[0];
};
let bytes, records, base = 0, slotBytes = 0;
if (e) parentPort.on('message', (m) => {
  if (typeof m !== 'number') {
    bytes = new Uint8Array(m.mailbox);
    records = new Int32Array(m.mailbox, 0, m.slots * ${RECORD_INTS});
    base = m.base;
    slotBytes = m.slotBytes;
    return;
  }
  const r = m * ${RECORD_INTS};
  const inLength = records[r], outLength = records[r + 1];
  const inAt = base + m * slotBytes, outAt = inAt + ((inLength + 7) & ~7);
  try {
    const src = reserve(blocks.in, inLength);
    const dst = reserve(blocks.out, outLength);
    new Uint8Array(e.memory.buffer).set(bytes.subarray(inAt, inAt + inLength), src);
    const written = e.ZSTD_decompress(dst, outLength, src, inLength);
    if (e.ZSTD_isError(written)) throw new Error('libzstd error ' + (-written >>> 0));
    bytes.set(new Uint8Array(e.memory.buffer, dst, Math.min(written >>> 0, outLength)), outAt);
    records[r + 2] = written >>> 0;
    parentPort.postMessage(m);
  } catch (err) {
    records[r + 2] = -1;
    parentPort.postMessage({ slot: m, error: String((err && err.message) || err) });
  }
});
`;

interface Job {
  frame: Uint8Array;
  output: Uint8Array;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** One worker and its mailbox. */
interface Lane {
  worker: Worker;
  /** 0 until the first job sizes the mailbox. */
  slotBytes: number;
  base: number;
  bytes: Uint8Array;
  records: Int32Array;
  free: number[];
  /** The job in each slot. */
  jobs: (Job | undefined)[];
  busy: number;
}

/** Bytes of a slot for a frame and its output: the frame at the start, the output 8-aligned after it. */
function slotNeed(frame: number, output: number): number {
  return ((frame + 7) & ~7) + output;
}

class ZstdPool {
  private lanes: Lane[] | undefined;
  private starting: Promise<void> | undefined;
  /** Requests gathered in the current task. */
  private batch: Job[] = [];
  private batchConcurrent = false;
  /** Requests waiting for a slot, in order. */
  private waiting: Job[] = [];
  private failed: Error | undefined;

  constructor(private readonly size: number) {}

  /** Starts the workers once libzstd's module is compiled; until then jobs wait. */
  private start(): void {
    this.starting ??= zstdModule().then(
      (module) => {
        if (!module) return this.fail(new Error("libzstd's module could not be reached"));
        this.lanes = this.makeLanes(module);
        this.pump();
      },
      (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private makeLanes(module: WebAssembly.Module): Lane[] {
    return Array.from({ length: this.size }, () => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module } });
      worker.unref();
      const lane: Lane = { worker, slotBytes: 0, base: 0, bytes: new Uint8Array(0), records: new Int32Array(0), free: [], jobs: [], busy: 0 };
      worker.on('message', (m: number | { slot: number; error: string } | { fatal: string }) => {
        if (typeof m === 'object' && 'fatal' in m) return this.fail(new Error(m.fatal));
        const slot = typeof m === 'number' ? m : m.slot;
        const job = lane.jobs[slot];
        // A job taken over by fail() has been settled already: its slot is gone with the lane.
        if (!job) return;
        if (typeof m === 'object') job.reject(codecError('zstd', `invalid compressed data (${m.error})`));
        else {
          const written = lane.records[slot * RECORD_INTS + 2]!;
          if (written !== job.output.length) {
            job.reject(codecError('zstd', 'the frame does not decode to exactly the output size', { field: 'decompressed size', value: written, expected: `${job.output.length}` }));
          } else {
            const outAt = lane.base + slot * lane.slotBytes + ((job.frame.length + 7) & ~7);
            job.output.set(lane.bytes.subarray(outAt, outAt + written));
            job.resolve();
          }
        }
        lane.jobs[slot] = undefined;
        lane.free.push(slot);
        if (--lane.busy === 0) worker.unref();
        this.pump();
      });
      worker.on('error', (e) => this.fail(e));
      // A worker that dies takes its jobs with it: decode them inline instead.
      worker.on('exit', (code) => {
        if (code !== 0 && !this.failed) this.fail(new Error(`zstd worker exited with code ${code}`));
      });
      return lane;
    });
  }

  /** Gives `lane` a mailbox whose slots hold `need` bytes (only while it has nothing in flight). */
  private resize(lane: Lane, need: number): void {
    let slotBytes = 64 * 1024;
    while (slotBytes < need) slotBytes *= 2;
    const slots = Math.max(MIN_SLOTS, Math.min(MAX_SLOTS, Math.floor(MAILBOX_BYTES / slotBytes)));
    const base = slots * RECORD_INTS * 4;
    const mailbox = new SharedArrayBuffer(base + slots * slotBytes);
    lane.slotBytes = slotBytes;
    lane.base = base;
    lane.bytes = new Uint8Array(mailbox);
    lane.records = new Int32Array(mailbox, 0, slots * RECORD_INTS);
    lane.free = Array.from({ length: slots }, (_, i) => slots - 1 - i);
    lane.jobs = new Array<Job | undefined>(slots).fill(undefined);
    lane.worker.postMessage({ mailbox, slots, base, slotBytes });
  }

  /** A worker that cannot start (no wasm, no zstddec): decode everything inline from then on. */
  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    for (const lane of this.lanes ?? []) {
      for (const job of lane.jobs) if (job) this.inline(job);
      lane.jobs.fill(undefined);
      // No worker is used again: none may keep the process alive.
      lane.worker.unref();
      void lane.worker.terminate();
    }
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((job) => this.inline(job));
  }

  private inline(job: Job): void {
    // The core's decoder may throw synchronously: that must reject the job, not escape.
    new Promise<void>((resolve) => resolve(browserCodecs.zstd(job.frame, job.output))).then(job.resolve, job.reject);
  }

  decode(frame: Uint8Array, output: Uint8Array, concurrent: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.batch.length === 0) queueMicrotask(() => this.flush());
      this.batch.push({ frame, output, resolve, reject });
      if (concurrent) this.batchConcurrent = true;
    });
  }

  private flush(): void {
    const batch = this.batch;
    const concurrent = this.batchConcurrent;
    this.batch = [];
    this.batchConcurrent = false;
    const idle = this.waiting.length === 0 && (this.lanes ?? []).every((lane) => lane.busy === 0);
    if (batch.length === 1 && idle && !concurrent) return this.inline(batch[0]!);
    for (const job of batch) {
      if (this.failed || slotNeed(job.frame.length, job.output.length) > MAX_SLOT_BYTES) this.inline(job);
      else this.waiting.push(job);
    }
    this.pump();
  }

  /** Hands waiting jobs, in order, to the least busy worker with a free slot large enough. */
  private pump(): void {
    if (this.failed) return;
    const lanes = this.lanes;
    if (!lanes) return this.start();
    while (this.waiting.length > 0) {
      const job = this.waiting[0]!;
      const need = slotNeed(job.frame.length, job.output.length);
      let lane: Lane | undefined;
      for (const l of lanes) if (l.slotBytes >= need && l.free.length > 0 && (!lane || l.busy < lane.busy)) lane = l;
      if (!lane) {
        // A larger frame than the mailboxes hold: wait until a worker is idle and enlarge its mailbox.
        lane = lanes.find((l) => l.busy === 0 && l.slotBytes < need);
        if (!lane) return;
        this.resize(lane, need);
      }
      this.waiting.shift();
      const slot = lane.free.pop()!;
      const r = slot * RECORD_INTS;
      lane.records[r] = job.frame.length;
      lane.records[r + 1] = job.output.length;
      lane.bytes.set(job.frame, lane.base + slot * lane.slotBytes);
      lane.jobs[slot] = job;
      if (lane.busy++ === 0) lane.worker.ref();
      lane.worker.postMessage(slot);
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
