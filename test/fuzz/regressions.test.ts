/**
 * Every failure the fuzzer found and saved (fixtures/fuzz/*.json: a seed fixture and the
 * mutations that broke a parser) is replayed, in a worker thread so that a hang that came back
 * fails this test instead of stopping the run. Each must now end in a value or a DiskProbeError,
 * within the fuzzer's time bound and its memory bounds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../scripts/fuzz/engine.js';
import { DEFAULT_LIMITS } from '../../scripts/fuzz/engine.js';
import type { SavedFailure } from '../../scripts/fuzz/replay.js';
import { FuzzWorker } from '../helpers/fuzz-worker.js';

const DIR = join(import.meta.dirname, '../../fixtures/fuzz');
const saved = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, record: JSON.parse(readFileSync(join(DIR, f), 'utf8')) as SavedFailure & { fixed?: string } }));

const worker = new FuzzWorker();
afterAll(() => worker.close());

describe('fuzz regressions (fixtures/fuzz)', () => {
  it('has saved failures, each naming what fixed it', () => {
    expect(saved.length).toBeGreaterThan(0);
    for (const { file, record } of saved) {
      expect(record.mutations.length, file).toBeGreaterThan(0);
      expect(record.fixed, `${file} says what fixed it`).toMatch(/\S.{20,}/);
    }
  });

  for (const { file, record } of saved) {
    it(`${file}: ${record.target} ${record.kind} at ${record.where} no longer fails`, async () => {
      const o = await worker.replay(record, DEFAULT_LIMITS);
      expect(o, `${file} hung again`).not.toBe('hang');
      const outcome = o as Outcome;
      expect(outcome.failure, `${file}: ${outcome.failure?.message}\n${outcome.failure?.stack ?? ''}`).toBeUndefined();
      expect(outcome.result).toMatch(/^(ok|E_[A-Z_]+|YamlError)$/);
    }, 60_000);
  }
});
