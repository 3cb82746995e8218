/**
 * The fuzzing loop inside one worker: prepare a target's seeds (their shapes: what a clean run
 * reads, the header fields), make each input from (run seed, target, iteration), run it, and
 * judge the outcome against the invariants:
 *
 * - the result is a value or a `DiskProbeError` (or the parser's own documented error), never
 *   another exception;
 * - it finishes within the time bound;
 * - no single buffer above the allocation bound is made, and the heap (JS objects and array
 *   buffers) grows by less than the heap bound over the input.
 */
import { DiskProbeError, fromBytes, type BlockDevice } from '../../src/index.js';
import { Random, applyToBytes, applyToDevice, hash32, mutations, type Mutation, type SeedShape } from './mutate.js';
import type { Seed, Target } from './targets.js';

export interface Limits {
  /** Longest an input may take, in milliseconds. */
  timeMs: number;
  /** Largest single buffer an input may allocate, in MiB. */
  allocMb: number;
  /** Most the heap may grow over one input, in MiB. */
  heapMb: number;
}

export const DEFAULT_LIMITS: Limits = { timeMs: 2000, allocMb: 128, heapMb: 256 };

export interface PreparedSeed {
  seed: Seed;
  shape: SeedShape;
}

export type FailureKind = 'exception' | 'slow' | 'memory' | 'hang';

export interface Failure {
  target: string;
  seed: string;
  mutations: Mutation[];
  kind: FailureKind;
  message: string;
  /** Where it was raised: the first frame in src/, for telling failures apart. */
  where: string;
  stack?: string;
  runSeed?: number;
  iteration?: number;
  ms?: number;
}

export interface Outcome {
  /** `ok`, or the DiskProbeError's code (or the documented error's name). */
  result: string;
  /**
   * What the parser did, coarsely: the result, and for an error its structure, field and reason
   * with the numbers taken out. A signature not seen before marks an input that reached new
   * behaviour; the worker keeps it in its corpus to mutate further.
   */
  signature: string;
  ms: number;
  failure?: Omit<Failure, 'target' | 'seed' | 'mutations'>;
}

// ---------------------------------------------------------------------------------------------
// Allocation guard

let guardInstalled = false;
let guardLimit = Infinity;
let largest = 0;

/**
 * Counts the largest `new Uint8Array(n)` / `new ArrayBuffer(n)` (and typed arrays built from a
 * length) made while an input runs, and refuses one above the bound with a RangeError the
 * judge reports as a memory failure. Installed once per worker.
 */
export function installAllocationGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  const g = globalThis as Record<string, unknown>;
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint16Array', 'Uint32Array', 'Int32Array', 'Float64Array', 'BigUint64Array', 'Uint8ClampedArray']) {
    const original = g[name] as (new (...args: unknown[]) => object) & { BYTES_PER_ELEMENT?: number };
    if (typeof original !== 'function') continue;
    const unit = original.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        const n = args[0];
        const bytes = typeof n === 'number' ? n * unit : Array.isArray(n) ? n.length * unit : 0;
        if (bytes > largest) largest = bytes;
        if (bytes > guardLimit) throw new RangeError(`fuzz allocation guard: ${name}(${bytes} bytes) is above the bound of ${guardLimit} bytes`);
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
  }
}

function heapNow(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

// ---------------------------------------------------------------------------------------------
// Seeds and their shapes

/** A device that records the ranges read from it. */
function recording(dev: BlockDevice, ranges: [number, number][]): BlockDevice {
  return {
    size: dev.size,
    label: dev.label,
    async read(offset, length, signal) {
      // Bulk data reads say little about where the metadata is.
      if (length <= 256 * 1024) ranges.push([offset, length]);
      return dev.read(offset, length, signal);
    },
  };
}

function merge(ranges: [number, number][], limit = 4096): [number, number][] {
  const sorted = ranges.slice().sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [o, l] of sorted) {
    const last = out[out.length - 1];
    if (last && o <= last[0] + last[1]) last[1] = Math.max(last[1], o + l - last[0]);
    else out.push([o, l]);
  }
  // Many small ranges: keep an even sample.
  if (out.length <= limit) return out;
  const step = out.length / limit;
  return Array.from({ length: limit }, (_, i) => out[Math.floor(i * step)]!);
}

/** Loads a target's seeds and works out each one's shape from a clean run. */
export async function prepare(target: Target): Promise<PreparedSeed[]> {
  const seeds = await target.seeds();
  if (!seeds.length) throw new Error(`fuzz target ${target.name} has no seeds`);
  const out: PreparedSeed[] = [];
  for (const seed of seeds) {
    let hot: [number, number][];
    let size: number;
    if (seed.bytes) {
      size = seed.bytes.length;
      hot = [[0, size]];
    } else {
      const reads: [number, number][] = [];
      const dev = recording(seed.device!, reads);
      await target.run({ device: dev, seed }).catch((e: unknown) => {
        if (!(e instanceof DiskProbeError) && !target.accepts?.(e)) throw new Error(`fuzz target ${target.name}: its clean seed ${seed.name} fails: ${String(e)}`, { cause: e });
      });
      size = seed.device!.size;
      hot = merge(reads);
    }
    out.push({
      seed,
      shape: { size, hot, fields: (seed.fields ?? []).filter((f) => f.at + f.width <= size), le: seed.le ?? true, bytes: !!seed.bytes, ...(seed.tokens ? { tokens: seed.tokens } : {}) },
    });
  }
  return out;
}

/** An input worth mutating further: it made the parser do something no earlier input did. */
export interface CorpusEntry {
  seed: PreparedSeed;
  mutations: Mutation[];
}

/** Most entries a worker's corpus keeps (a full corpus replaces entries at random). */
export const MAX_CORPUS = 512;
/** Most mutations an input stacks on its seed. */
const MAX_STACK = 32;

/**
 * The seed and mutations of one iteration. Without a corpus, the same for the same run seed,
 * target and iteration; with one, half the inputs start from a corpus entry's mutations and add
 * their own (the same for the same corpus).
 */
export function inputOf(runSeed: number, target: string, iteration: number, seeds: readonly PreparedSeed[], corpus: readonly CorpusEntry[] = []): { seed: PreparedSeed; mutations: Mutation[] } {
  const rng = new Random((runSeed ^ hash32(target)) >>> 0, iteration);
  if (corpus.length && rng.chance(0.5)) {
    const base = corpus[rng.below(corpus.length)]!;
    const more = mutations(base.seed.shape, rng, 4);
    return { seed: base.seed, mutations: [...base.mutations, ...more].slice(-MAX_STACK) };
  }
  const seed = seeds[rng.below(seeds.length)]!;
  return { seed, mutations: mutations(seed.shape, rng) };
}

// ---------------------------------------------------------------------------------------------
// Running and judging one input

/** The first stack frame inside src/ (or the first frame at all): where a failure was raised. */
export function whereOf(e: unknown): string {
  const stack = e instanceof Error ? (e.stack ?? '') : '';
  const frames = stack.split('\n').filter((l) => l.trim().startsWith('at '));
  const inSrc = frames.find((l) => /[/\\]src[/\\]/.test(l)) ?? frames[0] ?? '';
  const m = /([^/\\() ]+\.ts):(\d+)/.exec(inSrc);
  return m ? `${m[1]}:${m[2]}` : inSrc.trim().slice(0, 120);
}

export async function runInput(target: Target, prepared: PreparedSeed, list: readonly Mutation[], limits: Limits): Promise<Outcome> {
  const { seed } = prepared;
  let input;
  if (seed.bytes) {
    const bytes = applyToBytes(seed.bytes, list);
    input = { bytes, device: fromBytes(bytes, `${seed.name} (mutated)`), seed };
  } else input = { device: applyToDevice(seed.device!, list), seed };

  guardLimit = limits.allocMb * 1024 * 1024;
  largest = 0;
  const before = heapNow();
  const t = performance.now();
  let result = 'ok';
  let signature = 'ok';
  let failure: Outcome['failure'];
  try {
    const value = await target.run(input);
    // A value that carries findings (a disk, a filesystem, a listing): their codes tell apart
    // inputs that were read to the end in different ways.
    const findings = (value as { findings?: unknown } | undefined)?.findings;
    if (Array.isArray(findings) && findings.length) signature = `ok|${[...new Set(findings.map((x) => String((x as { code?: unknown }).code)))].sort().join(',')}`;
  } catch (e) {
    if (e instanceof DiskProbeError) {
      result = e.code;
      signature = `${e.code}|${e.structure ?? ''}|${e.field ?? ''}|${shape(e.reason)}`;
    } else if (target.accepts?.(e)) {
      result = (e as Error).name;
      signature = `${result}|${shape((e as Error).message)}`;
    }
    else if (e instanceof RangeError && e.message.startsWith('fuzz allocation guard')) failure = { kind: 'memory', message: e.message, where: whereOf(e), ...(e.stack ? { stack: e.stack } : {}) };
    else {
      const err = e instanceof Error ? e : new Error(String(e));
      failure = { kind: 'exception', message: `${err.name}: ${err.message}`, where: whereOf(err), ...(err.stack ? { stack: err.stack } : {}) };
    }
  } finally {
    guardLimit = Infinity;
  }
  const ms = performance.now() - t;
  if (!failure && ms > limits.timeMs) failure = { kind: 'slow', message: `took ${Math.round(ms)} ms (bound ${limits.timeMs} ms), ended in ${result}`, where: `${target.name}:slow` };
  const grown = heapNow() - before;
  if (!failure && grown > limits.heapMb * 1024 * 1024) failure = { kind: 'memory', message: `the heap grew ${Math.round(grown / 2 ** 20)} MiB (bound ${limits.heapMb} MiB)`, where: `${target.name}:heap` };
  return { result, signature, ms, ...(failure ? { failure } : {}) };
}

/**
 * A message with what varies per input taken out: numbers, and the text parsers cite from their
 * input, quoted or as tags (which would make nearly every input of a text parser a new behaviour).
 */
export function shape(message: string): string {
  // Everything from the first quote or tag on: cited text may hold quotes of its own.
  return message.replace(/["'`«<].*$/s, '…').replace(/\d+/g, '#');
}

/** Whether two failures are the same bug: same kind and the same place. */
export function sameFailure(a: Pick<Failure, 'kind' | 'where'>, b: Pick<Failure, 'kind' | 'where'>): boolean {
  return a.kind === b.kind && a.where === b.where;
}

/**
 * Shrinks a failing input: drops each mutation that the failure does not need, then narrows what
 * is left (fewer bytes set, shorter copies), keeping the same failure.
 */
export async function minimise(target: Target, prepared: PreparedSeed, list: Mutation[], failure: Pick<Failure, 'kind' | 'where'>, limits: Limits, budget = 200, heartbeat?: () => void, maxMs = 30_000): Promise<Mutation[]> {
  let current = list.slice();
  const until = performance.now() + maxMs;
  const fails = async (candidate: Mutation[]) => {
    // Each attempt is a run: the worker's watchdog must see it, and slow inputs must not make
    // minimising take longer than finding.
    if (budget-- <= 0 || performance.now() > until) return false;
    heartbeat?.();
    const o = await runInput(target, prepared, candidate, limits);
    return !!o.failure && sameFailure(o.failure, failure);
  };
  for (let i = current.length - 1; i >= 0; i--) {
    const candidate = current.filter((_, k) => k !== i);
    if (candidate.length && (await fails(candidate))) current = candidate;
  }
  for (let i = 0; i < current.length; i++) {
    for (const trim of ['head', 'tail'] as const) {
      for (;;) {
        const m = current[i]!;
        if ((m.op !== 'set' && m.op !== 'insert') || m.bytes.length <= 1) break;
        const shorter: Mutation = trim === 'head' ? { ...m, at: m.op === 'set' ? m.at + 1 : m.at, bytes: m.bytes.slice(1) } : { ...m, bytes: m.bytes.slice(0, -1) };
        const candidate = current.map((x, k) => (k === i ? shorter : x));
        if (await fails(candidate)) current = candidate;
        else break;
      }
    }
    const m = current[i]!;
    if ((m.op === 'copy' || m.op === 'remove') && m.length > 1) {
      for (let length = 1; length < m.length; length *= 4) {
        const candidate = current.map((x, k) => (k === i ? { ...m, length } : x));
        if (await fails(candidate)) {
          current = candidate;
          break;
        }
      }
    }
  }
  return current;
}
