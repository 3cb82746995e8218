/**
 * Decoding on several cores: worker threads that decode compressed clusters into shared memory.
 * Two kinds: raw deflate with Node's native zlib, and zstd with libzstd (WebAssembly, from
 * zstddec).
 *
 * Requests are gathered until the current task yields. A lone request is decoded inline, on the
 * calling thread (a worker's round trip would only add latency); two or more at once, or any
 * whose caller says others are in flight (`hint.concurrent`), go to the workers, one per core,
 * so that a reader with many reads out decodes on every core while the main thread keeps
 * reading.
 *
 * Frames and their output travel through shared memory, not messages: each worker has a
 * mailbox (one SharedArrayBuffer of a few slots), the main thread copies a frame into a free
 * slot and posts the slot's number, the worker decodes it into the same slot and posts the
 * number back. Nothing is allocated per frame on either side. Sending each frame and result as
 * a transferred ArrayBuffer, as the zstd pool first did, left hundreds of MiB of dead buffers
 * for the collector (23 % of the main thread's time and 160 MiB of resident memory over a 1 GiB
 * image); node:zlib's own asynchronous call, which deflate used before, allocates a result per
 * cluster and left up to 64 MiB of them (see docs/benchmarks.md). When every slot is taken,
 * requests wait in order.
 *
 * Workers are started on first need and do not keep the process alive when idle.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { browserCodecs } from '../codec/index.js';
import { checkArguments, codecError, sizeError, type CodecName, type Decoder } from '../codec/types.js';
import { firstZstdFrame, zstdModule } from '../codec/zstd.js';
/**
 * A mailbox: `slots` records of three int32 (`inLength`, `outLength`, `result`) at the start,
 * then `slots` data areas of `slotBytes` each, from byte `base`: the frame at the area's
 * start, the output after it at the next multiple of 8. `result` is the byte count the decoder
 * produced (it writes at most `outLength`; more means the stream goes on), or -1 after an error
 * (the message says which).
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
 * A worker allocates only a message per frame: a small young generation keeps its heap from
 * growing to V8's default (up to 48 MiB) under a long scan.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

/**
 * Decodes `input[inAt, inAt + inLength)` into `output[outAt, outAt + outLength)` and returns
 * the count the stream produces: `outLength` exactly, less if it ends early, `outLength + 1` if
 * it would go on. Throws an Error with zlib's message for invalid data. Built once per thread by
 * {@link INFLATE_SETUP}.
 */
type DecodeInto = (input: Uint8Array, inAt: number, inLength: number, output: Uint8Array, outAt: number, outLength: number) => number;

/**
 * Raw deflate straight into the caller's memory with Node's native zlib, allocating nothing per
 * call: the source of a function that takes node:zlib and returns a {@link DecodeInto}, or
 * `undefined` where node:zlib's handle does not have the shape it needs (another runtime's
 * node:zlib), and callers use the public calls instead.
 *
 * node:zlib's public calls allocate their result; its handle's `writeSync` (what those calls
 * use inside, present since Node 10) takes the output buffer and offset, and `_writeState`
 * holds the input and output space left. One stream object is reset between clusters; after an
 * error it is replaced, since zlib's own JavaScript treats a handle that reported one as
 * unusable. When the output is full, one more call into a spare byte says whether the stream
 * ends there (it consumes its end-of-block code and produces nothing) or goes on.
 *
 * It is source text, not a function, because the deflate workers run the same code: a
 * function's own text is not reliable once a bundler has wrapped it (esbuild's keepNames adds
 * calls to a helper the worker does not have).
 */
const INFLATE_SETUP = `(zlib) => {
  let stream, handle, state, failure;
  const fresh = () => {
    if (stream) stream.close();
    stream = zlib.createInflateRaw();
    const h = stream._handle;
    if (!h || typeof h.writeSync !== 'function' || typeof h.reset !== 'function' || !(stream._writeState instanceof Uint32Array)) return false;
    handle = h;
    state = stream._writeState;
    handle.onerror = (message) => { failure = message; };
    return true;
  };
  if (!fresh()) return undefined;
  const spare = new Uint8Array(1);
  const finish = zlib.constants.Z_FINISH;
  return (input, inAt, inLength, output, outAt, outLength) => {
    failure = undefined;
    handle.writeSync(finish, input, inAt, inLength, output, outAt, outLength);
    let produced = outLength - state[0];
    if (failure === undefined && state[0] === 0) {
      const left = state[1];
      handle.writeSync(finish, input, inAt + inLength - left, left, spare, 0, 1);
      produced += 1 - state[0];
    }
    if (failure !== undefined) {
      const message = failure;
      fresh();
      throw new Error(message);
    }
    handle.reset();
    return produced;
  };
}`;

/** Builds {@link INFLATE_SETUP} on this thread. */
function inflateInto(): DecodeInto | undefined {
  // The workers' source, run on this thread too (see INFLATE_SETUP).
  const setup = new Function(`return ${INFLATE_SETUP}`)() as (z: typeof zlib) => DecodeInto | undefined;
  return setup(zlib);
}

/** A kind of worker: the codec it decodes and how it starts. */
interface WorkerKind {
  codec: CodecName;
  /**
   * JavaScript source of a function that takes node:zlib and the worker's data and returns a
   * {@link DecodeInto}; it runs in the worker.
   */
  setup: string;
  /** What the worker needs to start (libzstd's compiled module), or an Error. */
  data(): Promise<unknown>;
  /** The decoder for lone requests and for when the workers cannot be used. */
  inline: Decoder;
}

/**
 * The zstd worker calls libzstd directly, with input and output blocks kept in its wasm heap
 * between calls. It instantiates the module the main thread compiled (src/codec/zstd.ts): no
 * second compilation, and none of zstddec's JavaScript (which would load a fetch implementation
 * to read its embedded module). The module's only import is emscripten's memory-growth notice,
 * which needs no answer here: every call makes its views of the heap afresh.
 */
const ZSTD_SETUP = `(_zlib, data) => {
  const imports = {};
  for (const i of WebAssembly.Module.imports(data.module)) {
    if (i.kind !== 'function') throw new Error('unexpected import ' + i.module + '.' + i.name);
    (imports[i.module] ??= {})[i.name] = () => {};
  }
  const e = new WebAssembly.Instance(data.module, imports).exports;
  const blocks = { in: [0, 0], out: [0, 0] };
  const reserve = (b, size) => {
    if (b[1] >= size) return b[0];
    if (b[0]) e.free(b[0]);
    b[0] = e.malloc(size);
    b[1] = b[0] ? size : 0;
    if (!b[0]) throw new Error('the WebAssembly heap is full');
    return b[0];
  };
  return (input, inAt, inLength, output, outAt, outLength) => {
    const src = reserve(blocks.in, inLength);
    const dst = reserve(blocks.out, outLength);
    new Uint8Array(e.memory.buffer).set(input.subarray(inAt, inAt + inLength), src);
    const written = e.ZSTD_decompress(dst, outLength, src, inLength);
    if (e.ZSTD_isError(written)) throw new Error('libzstd error ' + (-written >>> 0));
    output.set(new Uint8Array(e.memory.buffer, dst, Math.min(written >>> 0, outLength)), outAt);
    return written >>> 0;
  };
}`;

/** Worker source: the mailbox loop around one kind's decoder. */
function workerSource(kind: WorkerKind): string {
  return `
const { parentPort, workerData } = require('node:worker_threads');
let decode;
try {
  decode = (${kind.setup})(require('node:zlib'), workerData);
  if (!decode) throw new Error('no decoder');
} catch (err) {
  parentPort.postMessage({ fatal: String((err && err.message) || err) });
}
let bytes, records, base = 0, slotBytes = 0;
if (decode) parentPort.on('message', (m) => {
  if (typeof m !== 'number') {
    bytes = new Uint8Array(m.mailbox);
    records = new Int32Array(m.mailbox, 0, m.slots * ${RECORD_INTS});
    base = m.base;
    slotBytes = m.slotBytes;
    return;
  }
  const r = m * ${RECORD_INTS};
  const inLength = records[r], outLength = records[r + 1];
  const inAt = base + m * slotBytes;
  try {
    records[r + 2] = decode(bytes, inAt, inLength, bytes, inAt + ((inLength + 7) & ~7), outLength);
    parentPort.postMessage(m);
  } catch (err) {
    records[r + 2] = -1;
    parentPort.postMessage({ slot: m, error: String((err && err.message) || err) });
  }
});
`;
}

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

class DecodePool {
  private lanes: Lane[] | undefined;
  private starting: Promise<void> | undefined;
  /** Requests gathered in the current task. */
  private batch: Job[] = [];
  private batchConcurrent = false;
  /** Requests waiting for a slot, in order. */
  private waiting: Job[] = [];
  private failed: Error | undefined;

  constructor(
    private readonly kind: WorkerKind,
    private readonly size: number,
  ) {}

  /** Starts the workers once their data is ready (libzstd's compiled module); until then jobs wait. */
  private start(): void {
    this.starting ??= this.kind.data().then(
      (data) => {
        if (data instanceof Error) return this.fail(data);
        this.lanes = this.makeLanes(data);
        this.pump();
      },
      (e: unknown) => this.fail(e instanceof Error ? e : new Error(String(e))),
    );
  }

  private makeLanes(data: unknown): Lane[] {
    const source = workerSource(this.kind);
    const codec = this.kind.codec;
    return Array.from({ length: this.size }, () => {
      const worker = new Worker(source, { eval: true, workerData: data, resourceLimits: WORKER_LIMITS });
      const lane: Lane = { worker, slotBytes: 0, base: 0, bytes: new Uint8Array(0), records: new Int32Array(0), free: [], jobs: [], busy: 0 };
      worker.on('message', (m: number | { slot: number; error: string } | { fatal: string }) => {
        if (typeof m === 'object' && 'fatal' in m) return this.fail(new Error(m.fatal));
        const slot = typeof m === 'number' ? m : m.slot;
        const job = lane.jobs[slot];
        // A job taken over by fail() has been settled already: its slot is gone with the lane.
        if (!job) return;
        if (typeof m === 'object') job.reject(codecError(codec, `invalid compressed data (${m.error})`));
        else {
          const written = lane.records[slot * RECORD_INTS + 2]!;
          if (written !== job.output.length) job.reject(sizeError(codec, written, job.output.length));
          else {
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
        if (code !== 0 && !this.failed) this.fail(new Error(`${codec} worker exited with code ${code}`));
      });
      // After the listeners: adding a 'message' listener refs the worker's port again, and a
      // worker that never got a job would then keep the process from exiting.
      worker.unref();
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

  /** A worker that cannot start (no wasm, no zstddec, no zlib handle): decode everything inline from then on. */
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
    new Promise<void>((resolve) => resolve(this.kind.inline(job.frame, job.output))).then(job.resolve, job.reject);
  }

  status(): { workers: number; failed?: string } {
    return this.failed ? { workers: 0, failed: this.failed.message } : { workers: this.lanes?.length ?? 0 };
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

/** The zstd workers: libzstd's module, compiled once on the main thread. */
const ZSTD: WorkerKind = {
  codec: 'zstd',
  setup: ZSTD_SETUP,
  data: async () => {
    const module = await zstdModule();
    return module ? { module } : new Error("libzstd's module could not be reached");
  },
  inline: browserCodecs.zstd,
};

let mainInflate: DecodeInto | null | undefined;

/**
 * Raw deflate on the calling thread: native zlib into `output` where node:zlib's handle allows
 * it, else node:zlib's asynchronous call (in libuv's thread pool), whose result is copied.
 */
export const inflateRawInline: Decoder = (input, output) => {
  checkArguments('deflate', input, output);
  if (mainInflate === undefined) mainInflate = inflateInto() ?? null;
  if (mainInflate === null) return inflateRawAsync(input, output);
  let produced: number;
  try {
    produced = mainInflate(input, 0, input.length, output, 0, output.length);
  } catch (e) {
    throw codecError('deflate', `invalid compressed data (${(e as Error).message})`, { cause: e });
  }
  if (produced !== output.length) throw sizeError('deflate', produced, output.length);
};

/** zlib's smallest chunk size (Z_MIN_CHUNK). */
const MIN_CHUNK = 64;

/**
 * Raw deflate with node:zlib's public asynchronous call. It inflates into one buffer one byte
 * longer than the output (so a stream that ends, or would go on, is seen in one pass) and
 * `maxOutputLength` stops it as soon as it produces more than the output holds, so hostile
 * input costs no more than the output size.
 */
function inflateRawAsync(input: Uint8Array, output: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    zlib.inflateRaw(input, { chunkSize: Math.max(output.length + 1, MIN_CHUNK), maxOutputLength: output.length }, (error, result) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          code === 'ERR_BUFFER_TOO_LARGE'
            ? sizeError('deflate', output.length + 1, output.length)
            : codecError('deflate', `invalid compressed data (${error.message})`, { cause: error }),
        );
      } else if (result.length !== output.length) {
        reject(sizeError('deflate', result.length, output.length));
      } else {
        output.set(result);
        resolve();
      }
    });
  });
}

/** The deflate workers: native zlib, writing into the mailbox (the factory's own source). */
const DEFLATE: WorkerKind = {
  codec: 'deflate',
  setup: INFLATE_SETUP,
  data: () => Promise.resolve(inflateInto() ? {} : new Error("node:zlib's handle cannot write into a buffer")),
  inline: inflateRawInline,
};

const pools: Partial<Record<CodecName, DecodePool>> = {};
const poolOf = (kind: WorkerKind) => (pools[kind.codec] ??= new DecodePool(kind, Math.max(1, availableParallelism())));

/** zstd for Node: inline for a lone request, worker threads when several arrive together. */
export const zstdParallel: Decoder = (input, output, hint) => {
  checkArguments('zstd', input, output);
  const frame = firstZstdFrame(input, output.length);
  return poolOf(ZSTD).decode(frame, output, hint?.concurrent === true);
};

/** Raw deflate for Node: native zlib, inline for a lone request, worker threads when several arrive together. */
export const deflateParallel: Decoder = (input, output, hint) => {
  checkArguments('deflate', input, output);
  return poolOf(DEFLATE).decode(input, output, hint?.concurrent === true);
};

/** @internal For tests: whether a codec's workers have started, and why they failed if they did. */
export function poolStatus(codec: CodecName): { workers: number; failed?: string } {
  return pools[codec]?.status() ?? { workers: 0 };
}
