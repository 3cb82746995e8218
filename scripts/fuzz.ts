/**
 * `npm run fuzz`: mutation fuzzing of every parser, in worker threads.
 *
 *   npm run fuzz -- [--seconds 60 | --iterations N] [--targets a,b] [--seed N] [--jobs N]
 *                   [--time-ms 2000] [--alloc-mb 128] [--heap-mb 256] [--out fixtures/fuzz]
 *                   [--no-save] [--report FILE] [--list] [--unguided]
 *
 * Each target gets an equal share of the time (or N iterations). Every input is made from the
 * run seed, the target's name and the iteration number, and (unless --unguided) from the
 * worker's corpus: the earlier inputs that made the parser do something new (a new error, in
 * a new structure or field), which half the inputs mutate further. A run is repeatable. A failure is
 * minimised in the worker that found it and saved as fixtures/fuzz/<target>-<id>.json (the seed
 * fixture and the mutations), which test/fuzz/regressions.test.ts replays. A worker whose input
 * runs past the hang bound is stopped and the input saved the same way. Exits 1 when anything
 * failed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, type Failure, type Limits } from './fuzz/engine.js';
import { TARGETS } from './fuzz/targets.js';
import type { Describe, FromWorker, Unit } from './fuzz/worker.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    iterations: { type: 'string' },
    targets: { type: 'string' },
    seed: { type: 'string' },
    jobs: { type: 'string' },
    'time-ms': { type: 'string' },
    'alloc-mb': { type: 'string' },
    'heap-mb': { type: 'string' },
    out: { type: 'string' },
    'no-save': { type: 'boolean' },
    report: { type: 'string' },
    list: { type: 'boolean' },
    unguided: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
});

if (values.list) {
  for (const t of TARGETS) console.log(`${t.name.padEnd(16)} ${t.covers}`);
  process.exit(0);
}

const names = values.targets ? values.targets.split(',') : TARGETS.map((t) => t.name);
for (const n of names) if (!TARGETS.some((t) => t.name === n)) throw new Error(`no fuzz target ${n}; see --list`);
const targets = TARGETS.filter((t) => names.includes(t.name));
const jobs = Math.max(1, Number(values.jobs ?? availableParallelism()));
const runSeed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
const limits: Limits = {
  timeMs: Number(values['time-ms'] ?? DEFAULT_LIMITS.timeMs),
  allocMb: Number(values['alloc-mb'] ?? DEFAULT_LIMITS.allocMb),
  heapMb: Number(values['heap-mb'] ?? DEFAULT_LIMITS.heapMb),
};
/** A worker whose input runs this long is stopped, and the input saved as a hang. */
const hangMs = Math.max(10_000, limits.timeMs * 5);
const outDir = values.out ?? join(import.meta.dirname, '../fixtures/fuzz');
const iterations = values.iterations !== undefined ? Number(values.iterations) : undefined;
const seconds = Number(values.seconds ?? 60);

// Equal shares of the worker time; the slow targets get fewer inputs in the same time.
const units: Unit[] = targets.map((t) => ({
  type: 'unit',
  target: t.name,
  runSeed,
  from: 0,
  limits,
  ...(values.unguided ? { guided: false } : {}),
  ...(iterations !== undefined ? { count: iterations } : { seconds: (seconds * jobs) / targets.length }),
}));

interface Tally {
  executions: number;
  ms: number;
  results: Record<string, number>;
  slowestMs: number;
  prepareMs: number;
  seeds: number;
  /** Distinct behaviours (outcome signatures) one worker saw, the most over units. */
  behaviours: number;
}
const tallies = new Map<string, Tally>(targets.map((t) => [t.name, { executions: 0, ms: 0, results: {}, slowestMs: 0, prepareMs: 0, seeds: 0, behaviours: 0 }]));
const failures: Failure[] = [];
const log = (s: string) => values.quiet || console.error(s);

function save(f: Failure): string | undefined {
  if (values['no-save']) return undefined;
  mkdirSync(outDir, { recursive: true });
  const id = createHash('sha256').update(`${f.target}|${f.kind}|${f.where}`).digest('hex').slice(0, 10);
  const file = join(outDir, `${f.target}-${id}.json`);
  const record = { target: f.target, seed: f.seed, mutations: f.mutations, kind: f.kind, message: f.message, where: f.where, runSeed: f.runSeed, iteration: f.iteration, found: new Date().toISOString().slice(0, 10) };
  writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
  return file;
}

const known = new Set<string>();
if (existsSync(outDir)) {
  for (const f of readdirSync(outDir).filter((x) => x.endsWith('.json'))) {
    const r = JSON.parse(readFileSync(join(outDir, f), 'utf8')) as Failure;
    known.add(`${r.target}|${r.kind}|${r.where}`);
  }
}

function record(f: Failure): void {
  const key = `${f.target}|${f.kind}|${f.where}`;
  if (failures.some((x) => `${x.target}|${x.kind}|${x.where}` === key)) return;
  failures.push(f);
  const file = save(f);
  console.error(`FAIL ${f.target} (${f.kind}) at ${f.where}: ${f.message.split('\n')[0]}${known.has(key) ? ' [a known failure again]' : ''}${file ? `\n     saved ${file}` : ''}`);
}

/** The worker's shared state: four counters, then the JSON of the input in flight. */
const shared = () => new SharedArrayBuffer(16 + 256 * 1024);

/** The input a worker had in flight, from the shared memory it writes before each input. */
function inflightOf(state: Int32Array): { seed: string; mutations: Failure['mutations'] } | undefined {
  const length = state[3]!;
  if (!length) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(new Uint8Array(state.buffer, 16, length).slice())) as { seed: string; mutations: Failure['mutations'] };
  } catch {
    return undefined;
  }
}

/** Runs the units on `jobs` workers; a hung worker is replaced. */
async function runAll(): Promise<void> {
  const queue = units.slice();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (queue.length) {
        const unit = queue.shift()!;
        await runUnitOnFreshWorker(unit);
      }
    }),
  );
  log(`fuzzed ${targets.length} targets in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function spawn(): { worker: Worker; state: Int32Array; ready: Promise<void> } {
  const sab = shared();
  const worker = new Worker(new URL('./fuzz/worker.mjs', import.meta.url), { workerData: { shared: sab }, resourceLimits: { maxOldGenerationSizeMb: 1536 } });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error(JSON.stringify(m)))));
    worker.once('error', reject);
  });
  return { worker, state: new Int32Array(sab), ready };
}

async function runUnitOnFreshWorker(unit: Unit): Promise<void> {
  // A worker per unit: each target starts from a clean heap, and a hang costs one unit.
  const { worker, state, ready } = spawn();
  await ready;
  const tally = tallies.get(unit.target)!;
  await new Promise<void>((resolve) => {
    let lastSeq = -1;
    let lastChange = performance.now();
    let preparing = true;
    const watchdog = setInterval(() => {
      const seq = Atomics.load(state, 0);
      if (seq !== lastSeq || preparing) {
        lastSeq = seq;
        lastChange = performance.now();
        return;
      }
      if (performance.now() - lastChange < hangMs) return;
      clearInterval(watchdog);
      const iteration = state[2]!;
      void worker.terminate().then(async () => {
        console.error(`HANG ${unit.target}: iteration ${iteration} ran past ${hangMs} ms; the worker was stopped`);
        const d = inflightOf(state) ?? (await describe(unit.target, iteration));
        record({ target: unit.target, seed: d.seed, mutations: d.mutations, kind: 'hang', message: `ran past ${hangMs} ms`, where: `${unit.target}:hang`, runSeed, iteration });
        resolve();
      });
    }, 250);
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'prepared') {
        preparing = false;
        tally.prepareMs += m.ms;
        tally.seeds = m.seeds;
      } else if (m.type === 'failure') record(m.failure);
      else if (m.type === 'error') {
        record({ target: unit.target, seed: '(preparation)', mutations: [], kind: 'exception', message: m.message, where: `${unit.target}:prepare`, runSeed });
        clearInterval(watchdog);
        void worker.terminate().then(() => resolve());
      } else if (m.type === 'done') {
        tally.executions += m.executions;
        tally.ms += m.ms;
        tally.slowestMs = Math.max(tally.slowestMs, m.slowestMs);
        tally.behaviours = Math.max(tally.behaviours, m.signatures);
        for (const [k, v] of Object.entries(m.results)) tally.results[k] = (tally.results[k] ?? 0) + v;
        log(`${unit.target.padEnd(16)} ${String(m.executions).padStart(9)} inputs  ${(m.executions / (m.ms / 1000)).toFixed(0).padStart(7)}/s`);
        clearInterval(watchdog);
        void worker.terminate().then(() => resolve());
      }
    });
    worker.on('error', (e) => {
      clearInterval(watchdog);
      // An out-of-memory ends the worker: the input in flight is the culprit.
      const iteration = state[2]!;
      console.error(`WORKER DIED ${unit.target} at iteration ${iteration}: ${e.message}`);
      const known = inflightOf(state);
      void (known ? Promise.resolve(known) : describe(unit.target, iteration)).then((d) => {
        record({ target: unit.target, seed: d.seed, mutations: d.mutations, kind: 'memory', message: `the worker died: ${e.message}`, where: `${unit.target}:worker`, runSeed, iteration });
        resolve();
      });
    });
    worker.postMessage(unit);
  });
}

/** The seed and mutations of one iteration, computed by a fresh worker without running them. */
async function describe(target: string, iteration: number): Promise<{ seed: string; mutations: Failure['mutations'] }> {
  const { worker, ready } = spawn();
  await ready;
  return new Promise((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'described') {
        void worker.terminate();
        resolve({ seed: m.seed, mutations: m.mutations });
      } else if (m.type === 'error') reject(new Error(m.message));
    });
    worker.postMessage({ type: 'describe', target, runSeed, iteration } satisfies Describe);
  });
}

log(`fuzz: run seed ${runSeed}, ${jobs} workers, ${iterations !== undefined ? `${iterations} inputs per target` : `${seconds} s`}, bounds ${limits.timeMs} ms, ${limits.allocMb} MiB per buffer, ${limits.heapMb} MiB heap growth`);
await runAll();

let total = 0;
const rows = [...tallies].map(([name, t]) => {
  total += t.executions;
  const codes = Object.entries(t.results)
    .filter(([k]) => k !== 'FAILED')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, v]) => `${k} ${((100 * v) / Math.max(1, t.executions)).toFixed(0)}%`)
    .join(', ');
  return { name, ...t, rate: t.executions / Math.max(1e-9, t.ms / 1000), codes };
});
console.log(`\n| target | seeds | inputs | inputs/s | slowest ms | behaviours | failures | outcomes |\n|---|---:|---:|---:|---:|---:|---:|---|`);
for (const r of rows) console.log(`| ${r.name} | ${r.seeds} | ${r.executions.toLocaleString('en-US')} | ${r.rate.toFixed(0)} | ${r.slowestMs.toFixed(0)} | ${r.behaviours} | ${r.results.FAILED ?? 0} | ${r.codes} |`);
console.log(`\n${total.toLocaleString('en-US')} inputs, ${failures.length} distinct failures, run seed ${runSeed}`);
if (values.report) writeFileSync(values.report, `${JSON.stringify({ runSeed, jobs, limits, seconds: iterations === undefined ? seconds : undefined, iterations, total, targets: rows, failures }, null, 1)}\n`);
process.exit(failures.length ? 1 : 0);
