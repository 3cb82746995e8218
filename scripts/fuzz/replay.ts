/**
 * Rebuilds a saved failure (fixtures/fuzz/*.json) from its seed fixture and mutations and runs
 * it once, in this thread: for the regression tests and for debugging a failure by hand
 * (`npx tsx scripts/fuzz/replay.ts fixtures/fuzz/<file>.json`).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DEFAULT_LIMITS, runInput, type Failure, type Limits, type Outcome } from './engine.js';
import { target } from './targets.js';

export type SavedFailure = Pick<Failure, 'target' | 'seed' | 'mutations' | 'kind' | 'message' | 'where'>;

export async function replay(saved: SavedFailure, limits: Limits = DEFAULT_LIMITS): Promise<Outcome> {
  const t = target(saved.target);
  const seeds = await t.seeds();
  const seed = seeds.find((s) => s.name === saved.seed);
  if (!seed) throw new Error(`fuzz target ${saved.target} has no seed ${saved.seed} (seeds: ${seeds.map((s) => s.name).join(', ')})`);
  const size = seed.bytes?.length ?? seed.device!.size;
  return runInput(t, { seed, shape: { size, hot: [], fields: [], le: true, bytes: !!seed.bytes } }, saved.mutations, limits);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const file of process.argv.slice(2)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedFailure;
    const o = await replay(saved, { ...DEFAULT_LIMITS, timeMs: 60_000 });
    console.log(`${file}: ${o.result} in ${o.ms.toFixed(1)} ms${o.failure ? `\n  FAILS (${o.failure.kind}) at ${o.failure.where}: ${o.failure.message}\n${o.failure.stack ?? ''}` : ''}`);
  }
}
