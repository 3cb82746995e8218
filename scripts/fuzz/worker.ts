/**
 * A fuzz worker thread: runs the units its parent sends (a target, a run seed and a range of
 * iterations or a time slice) and reports counts and minimised failures. The iteration in flight
 * is kept in shared memory, so the parent can name the input of a worker it had to stop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DEFAULT_LIMITS, MAX_CORPUS, installAllocationGuard, inputOf, minimise, prepare, runInput, type CorpusEntry, type Failure, type Limits, type Outcome, type PreparedSeed } from './engine.js';
import { TARGETS } from './targets.js';
import { replay, type SavedFailure } from './replay.js';

export interface Unit {
  type: 'unit';
  target: string;
  runSeed: number;
  from: number;
  /** Run `count` iterations, or for `seconds` when count is absent. */
  count?: number;
  seconds?: number;
  limits?: Limits;
  /** Mutate the inputs that reached new behaviour further (default true). */
  guided?: boolean;
}

export interface Describe {
  type: 'describe';
  target: string;
  runSeed: number;
  iteration: number;
}

export interface Replay {
  type: 'replay';
  id: number;
  saved: SavedFailure;
  limits?: Limits;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'prepared'; target: string; seeds: number; ms: number }
  | { type: 'failure'; failure: Failure }
  | { type: 'done'; target: string; executions: number; ms: number; results: Record<string, number>; slowestMs: number; next: number; signatures: number }
  | { type: 'described'; target: string; seed: string; mutations: Failure['mutations'] }
  | { type: 'replayed'; id: number; outcome: Outcome }
  | { type: 'error'; message: string; id?: number };

const port = parentPort!;
/**
 * Shared with the parent: [sequence, target index, iteration, length of the input's JSON], then
 * the JSON of the input in flight ({ seed, mutations }), written before every input so that the
 * parent can save the input of a worker it had to stop.
 */
const shared = new Int32Array(workerData.shared as SharedArrayBuffer, 0, 4);
const inflight = new Uint8Array(workerData.shared as SharedArrayBuffer, 16);
const encoder = new TextEncoder();

installAllocationGuard();

let current: { name: string; seeds: PreparedSeed[] } | undefined;
async function seedsOf(name: string): Promise<PreparedSeed[]> {
  if (current?.name === name) return current.seeds;
  current = undefined;
  const target = TARGETS.find((t) => t.name === name)!;
  const t = performance.now();
  const seeds = await prepare(target);
  current = { name, seeds };
  port.postMessage({ type: 'prepared', target: name, seeds: seeds.length, ms: performance.now() - t } satisfies FromWorker);
  return seeds;
}

async function runUnit(u: Unit): Promise<void> {
  const target = TARGETS.find((t) => t.name === u.target);
  if (!target) throw new Error(`no fuzz target ${u.target}`);
  const limits = u.limits ?? DEFAULT_LIMITS;
  const seeds = await seedsOf(u.target);
  const results: Record<string, number> = {};
  const seen = new Set<string>();
  const t0 = performance.now();
  const end = t0 + (u.seconds ?? Infinity) * 1000;
  let i = u.from;
  let slowest = 0;
  const targetIndex = TARGETS.indexOf(target);
  const corpus: CorpusEntry[] = [];
  const signatures = new Set<string>();
  let picks = 0;
  for (; u.count !== undefined ? i < u.from + u.count : performance.now() < end; i++) {
    const { seed, mutations } = inputOf(u.runSeed, u.target, i, seeds, u.guided === false ? [] : corpus);
    const text = JSON.stringify({ seed: seed.seed.name, mutations });
    const json = encoder.encodeInto(text, inflight);
    shared[1] = targetIndex;
    shared[2] = i;
    shared[3] = json.read === text.length ? json.written : 0;
    Atomics.add(shared, 0, 1);
    const o = await runInput(target, seed, mutations, limits);
    results[o.result] = (results[o.result] ?? 0) + 1;
    if (!o.failure && !signatures.has(o.signature)) {
      signatures.add(o.signature);
      if (corpus.length < MAX_CORPUS) corpus.push({ seed, mutations });
      else corpus[(picks++ * 7919) % MAX_CORPUS] = { seed, mutations };
    }
    if (o.ms > slowest) slowest = o.ms;
    if (o.failure) {
      results.FAILED = (results.FAILED ?? 0) + 1;
      const key = `${o.failure.kind}|${o.failure.where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const small = await minimise(target, seed, mutations, o.failure, limits, 200, () => Atomics.add(shared, 0, 1));
      const again = await runInput(target, seed, small, limits);
      const failure = again.failure ?? o.failure;
      port.postMessage({ type: 'failure', failure: { target: u.target, seed: seed.seed.name, mutations: again.failure ? small : mutations, ...failure, runSeed: u.runSeed, iteration: i, ms: Math.round(o.ms) } } satisfies FromWorker);
    }
  }
  port.postMessage({ type: 'done', target: u.target, executions: i - u.from, ms: performance.now() - t0, results, slowestMs: slowest, next: i, signatures: signatures.size } satisfies FromWorker);
}

port.on('message', (m: Unit | Describe | Replay) => {
  const work =
    m.type === 'unit'
      ? runUnit(m)
      : m.type === 'replay'
        ? replay(m.saved, m.limits).then((outcome) => port.postMessage({ type: 'replayed', id: m.id, outcome } satisfies FromWorker))
        : seedsOf(m.target).then((seeds) => {
            const { seed, mutations } = inputOf(m.runSeed, m.target, m.iteration, seeds);
            port.postMessage({ type: 'described', target: m.target, seed: seed.seed.name, mutations } satisfies FromWorker);
          });
  work.catch((e: unknown) => port.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e), ...(m.type === 'replay' ? { id: m.id } : {}) } satisfies FromWorker));
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
