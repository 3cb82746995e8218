/**
 * The page's worker: it opens the image (the `File` the user picked, or a URL read by range
 * requests), runs `check()` for the profiles asked for, and posts progress — the step, the bytes
 * read from the image so far, the worker's JS heap where the browser reports it — and then the
 * report. Nothing leaves the machine: the file is read in slices, in this worker.
 */
import { cached, check, DiskProbeError, fromBlob, fromUrl, type BlockDevice, type CheckReport } from '../src/index.js';

export type WorkerRequest = { type: 'check'; file?: File; url?: string; profiles: string[] } | { type: 'cancel' };

export type WorkerMessage =
  | { type: 'progress'; step: string; bytesRead: number; reads: number; size: number; heap?: number }
  | { type: 'report'; report: CheckReport; bytesRead: number; reads: number; size: number; ms: number; peakHeap?: number }
  | { type: 'error'; message: string; code?: string; cancelled?: boolean; bytesRead: number };

const post = (m: WorkerMessage) => (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(m);

/** Chromium's non-standard heap figure (also in dedicated workers); undefined elsewhere. */
function heap(): number | undefined {
  return (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
}

/** The device, counting what is read from it. */
function counting(dev: BlockDevice, onRead: () => void): { dev: BlockDevice; bytes(): number; reads(): number } {
  let bytes = 0;
  let reads = 0;
  const wrapped: BlockDevice = {
    size: dev.size,
    label: dev.label,
    async read(offset, length, signal) {
      const b = await dev.read(offset, length, signal);
      bytes += b.length;
      reads++;
      onRead();
      return b;
    },
  };
  return { dev: wrapped, bytes: () => bytes, reads: () => reads };
}

let running: AbortController | undefined;

async function run(req: Extract<WorkerRequest, { type: 'check' }>): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  const signal = controller.signal;
  const started = performance.now();
  let step = 'open';
  let peak = heap();
  let last = 0;
  let counter: ReturnType<typeof counting> | undefined;
  const progress = (force = false) => {
    const now = performance.now();
    const h = heap();
    if (h !== undefined && (peak === undefined || h > peak)) peak = h;
    if (!force && now - last < 100) return;
    last = now;
    post({ type: 'progress', step, bytesRead: counter?.bytes() ?? 0, reads: counter?.reads() ?? 0, size: counter?.dev.size ?? 0, ...(h !== undefined ? { heap: h } : {}) });
  };
  try {
    const source = req.file ? fromBlob(req.file) : await fromUrl(req.url!, { signal });
    // Reads of the image are counted where they leave the page (a File slice, an HTTP range);
    // a small block cache above keeps metadata read once.
    counter = counting(source, () => progress());
    const device = cached(counter.dev);
    progress(true);
    const report = await check(device, {
      profile: req.profiles.length ? req.profiles : 'all',
      signal,
      digestSkipped: 'not computed in the browser: it would read the whole file (use diskprobe check for MD5 and SHA-256)',
      onProgress: (p) => {
        step = p.step;
        progress(true);
      },
    });
    progress(true);
    post({ type: 'report', report, bytesRead: counter.bytes(), reads: counter.reads(), size: counter.dev.size, ms: performance.now() - started, ...(peak !== undefined ? { peakHeap: peak } : {}) });
  } catch (e) {
    const cancelled = signal.aborted;
    const message = e instanceof Error ? e.message : String(e);
    post({ type: 'error', message: cancelled ? 'cancelled' : message, ...(e instanceof DiskProbeError ? { code: e.code } : {}), cancelled, bytesRead: counter?.bytes() ?? 0 });
  } finally {
    if (running === controller) running = undefined;
  }
}

(globalThis as unknown as { onmessage: (e: MessageEvent<WorkerRequest>) => void }).onmessage = (e) => {
  const req = e.data;
  if (req.type === 'cancel') running?.abort();
  else void run(req);
};
