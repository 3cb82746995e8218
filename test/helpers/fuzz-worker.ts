/** Drives a fuzz worker thread (scripts/fuzz/worker.ts) from a test, with a bound on each request. */
import { Worker } from 'node:worker_threads';
import type { Limits } from '../../scripts/fuzz/engine.js';
import type { SavedFailure } from '../../scripts/fuzz/replay.js';
import type { FromWorker, Unit } from '../../scripts/fuzz/worker.js';

export class FuzzWorker {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 0;

  private start(): Promise<void> {
    const w = new Worker(new URL('../../scripts/fuzz/worker.mjs', import.meta.url), { workerData: { shared: new SharedArrayBuffer(16 + 256 * 1024) } });
    this.worker = w;
    this.ready = new Promise((resolve, reject) => {
      w.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error(JSON.stringify(m)))));
      w.once('error', reject);
    });
    return this.ready;
  }

  /** Sends a request and collects messages until `done` says so; 'hang' after `hangMs`. */
  private async request<T>(message: object, done: (m: FromWorker, all: FromWorker[]) => T | undefined, hangMs: number): Promise<T | 'hang'> {
    if (!this.worker) await this.start();
    await this.ready;
    const w = this.worker!;
    const seen: FromWorker[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.off('message', on);
        this.worker = undefined;
        void w.terminate();
        resolve('hang');
      }, hangMs);
      const on = (m: FromWorker) => {
        seen.push(m);
        if (m.type === 'error') {
          clearTimeout(timer);
          w.off('message', on);
          reject(new Error(m.message));
          return;
        }
        const r = done(m, seen);
        if (r !== undefined) {
          clearTimeout(timer);
          w.off('message', on);
          resolve(r);
        }
      };
      w.on('message', on);
      w.postMessage(message);
    });
  }

  replay(saved: SavedFailure, limits: Limits, hangMs = 20_000) {
    const id = this.nextId++;
    return this.request({ type: 'replay', id, saved, limits }, (m) => (m.type === 'replayed' && m.id === id ? m.outcome : undefined), hangMs);
  }

  /** Runs a unit to its end: the `done` message and every failure reported on the way. */
  run(unit: Omit<Unit, 'type'>, hangMs = 120_000) {
    return this.request({ type: 'unit', ...unit }, (m, all) => (m.type === 'done' ? { done: m, failures: all.flatMap((x) => (x.type === 'failure' ? [x.failure] : [])) } : undefined), hangMs);
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
