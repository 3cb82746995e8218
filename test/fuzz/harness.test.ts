/**
 * The fuzzer itself: mutations rebuild the same input whichever way they are applied, inputs are
 * repeatable, the judge catches each kind of failure (a foreign exception, a slow input, a huge
 * allocation) and lets DiskProbeErrors through, minimisation keeps only what a failure needs,
 * and every real target runs its seeds and a few inputs cleanly in a worker.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskProbeError, ErrorCode, fromBytes } from '../../src/index.js';
import { inputOf, minimise, runInput, shape, type Limits, type PreparedSeed } from '../../scripts/fuzz/engine.js';
import { Random, applyToBytes, applyToDevice, mutations, type Mutation, type SeedShape } from '../../scripts/fuzz/mutate.js';
import { TARGETS, type Target } from '../../scripts/fuzz/targets.js';
import { FuzzWorker } from '../helpers/fuzz-worker.js';

const LIMITS: Limits = { timeMs: 1000, allocMb: 64, heapMb: 256 };

const mutationArb = (size: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), at: fc.nat(size + 8), bytes: fc.array(fc.nat(255), { minLength: 1, maxLength: 8 }) }),
    fc.record({ op: fc.constant('truncate' as const), length: fc.nat(size * 2) }),
    fc.record({ op: fc.constant('copy' as const), at: fc.nat(size), from: fc.nat(size), length: fc.integer({ min: 1, max: 64 }) }),
  );

describe('mutations', () => {
  it('give the same bytes applied to a copy or seen through an overlay device', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.array(mutationArb(300), { minLength: 1, maxLength: 6 }), async (base, list) => {
        const bytes = applyToBytes(base, list);
        const dev = applyToDevice(fromBytes(base), list);
        expect(dev.size).toBe(bytes.length);
        expect(await dev.read(0, dev.size)).toEqual(bytes);
        if (dev.size > 3) expect(await dev.read(1, dev.size - 2)).toEqual(bytes.subarray(1, bytes.length - 1));
      }),
      { numRuns: 300 },
    );
  });

  it('never change the seed', () => {
    const seed = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    applyToBytes(seed, [{ op: 'set', at: 0, bytes: [9] }, { op: 'copy', at: 1, from: 4, length: 2 }]);
    expect([...seed]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('are the same for the same run seed, target and iteration, and differ otherwise', () => {
    const shape: SeedShape = { size: 4096, hot: [[0, 512]], fields: [{ at: 8, width: 4, le: true }], le: true, bytes: true };
    const seeds = [{ seed: { name: 'a', bytes: new Uint8Array(4096) }, shape }] as PreparedSeed[];
    expect(inputOf(7, 'x', 3, seeds).mutations).toEqual(inputOf(7, 'x', 3, seeds).mutations);
    const distinct = new Set(Array.from({ length: 50 }, (_, i) => JSON.stringify(inputOf(7, 'x', i, seeds).mutations)));
    expect(distinct.size).toBeGreaterThan(45);
    // With a corpus, about half the inputs build on one of its entries (its mutations first).
    const entry = { seed: seeds[0]!, mutations: [{ op: 'set' as const, at: 7, bytes: [1, 2, 3] }] };
    const built = Array.from({ length: 200 }, (_, i) => inputOf(7, 'x', i, seeds, [entry]).mutations);
    const onEntry = built.filter((m) => JSON.stringify(m[0]) === JSON.stringify(entry.mutations[0]) && m.length > 1).length;
    expect(onEntry).toBeGreaterThan(60);
    expect(onEntry).toBeLessThan(140);
    // Header fields get boundary values: some mutation lands on the field, with 4 bytes.
    const rng = new Random(1);
    const onField = Array.from({ length: 400 }, () => mutations(shape, rng)).flat().filter((m) => m.op === 'set' && m.at === 8 && m.bytes.length === 4);
    expect(onField.length).toBeGreaterThan(10);
  });
});

/** A target with a planted bug: a TypeError when byte 100 is 0x42, a DiskProbeError when byte 0 is 0. */
const planted: Target = {
  name: 'planted',
  covers: 'a test target',
  seeds: async () => [{ name: 'planted', bytes: new Uint8Array(512).fill(1) }],
  async run(input) {
    const b = input.bytes!;
    if (b[0] === 0) throw new DiskProbeError(ErrorCode.CORRUPT, 'byte 0 is 0', { layer: 'container', offset: 0 });
    if (b[100] === 0x42) (undefined as unknown as { x: number }).x = 1;
    if (b[200] === 0x43) await new Promise((r) => setTimeout(r, 1200));
    return b.length;
  },
};
const seedOf = async (t: Target): Promise<PreparedSeed> => {
  const [seed] = await t.seeds();
  return { seed: seed!, shape: { size: seed!.bytes!.length, hot: [[0, 512]], fields: [], le: true, bytes: true } };
};

describe('the judge', () => {
  it('passes values and DiskProbeErrors, and fails a foreign exception with where it was raised', async () => {
    const s = await seedOf(planted);
    expect(await runInput(planted, s, [{ op: 'set', at: 5, bytes: [7] }], LIMITS)).toMatchObject({ result: 'ok' });
    expect(await runInput(planted, s, [{ op: 'set', at: 0, bytes: [0] }], LIMITS)).toMatchObject({ result: 'E_CORRUPT' });
    // Outcomes carry a signature: the same error in the same place reads the same, numbers aside.
    const e1 = await runInput(planted, s, [{ op: 'set', at: 0, bytes: [0] }], LIMITS);
    expect(e1.signature).toBe('E_CORRUPT|||byte # is #');
    expect(shape('line 12: unexpected "a: b" after \'x\'')).toBe('line #: unexpected …');
    expect(shape('not well-formed XML: </a> closes <b> (at character 7)')).toBe('not well-formed XML: …');
    const bad = await runInput(planted, s, [{ op: 'set', at: 100, bytes: [0x42] }], LIMITS);
    expect(bad.failure).toMatchObject({ kind: 'exception', where: expect.stringMatching(/harness\.test\.ts:\d+/) });
    expect(bad.failure!.message).toMatch(/^TypeError/);
  });

  it('fails an input that takes longer than the time bound', async () => {
    const o = await runInput(planted, await seedOf(planted), [{ op: 'set', at: 200, bytes: [0x43] }], LIMITS);
    expect(o.failure?.kind).toBe('slow');
  });

  it('minimises a failing input to the mutation that matters', async () => {
    const s = await seedOf(planted);
    const noisy: Mutation[] = [
      { op: 'set', at: 3, bytes: [1, 2, 3] },
      { op: 'set', at: 99, bytes: [9, 0x42, 7, 7] },
      { op: 'copy', at: 300, from: 10, length: 40 },
      { op: 'truncate', length: 4000 },
    ];
    const first = await runInput(planted, s, noisy, LIMITS);
    expect(first.failure?.kind).toBe('exception');
    const small = await minimise(planted, s, noisy, first.failure!, LIMITS);
    expect(small).toEqual([{ op: 'set', at: 100, bytes: [0x42] }]);
  });

  it('fails an allocation above the bound (the guard a worker installs)', () => {
    // In a child process: the guard replaces the global typed-array constructors.
    const script = `
      import { installAllocationGuard, runInput } from './scripts/fuzz/engine.ts';
      installAllocationGuard();
      const t = { name: 'alloc', covers: '', seeds: async () => [], run: async () => new Uint8Array(200 * 1024 * 1024).length };
      const s = { seed: { name: 's', bytes: new Uint8Array(8) }, shape: { size: 8, hot: [], fields: [], le: true, bytes: true } };
      const o = await runInput(t, s, [{ op: 'set', at: 0, bytes: [1] }], { timeMs: 5000, allocMb: 64, heapMb: 256 });
      const small = await runInput({ ...t, run: async () => new Uint8Array(1024).length }, s, [], { timeMs: 5000, allocMb: 64, heapMb: 256 });
      console.log(JSON.stringify([o.failure?.kind, small.failure?.kind ?? 'none', new Uint8Array(3) instanceof Uint8Array]));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: `${import.meta.dirname}/../..`, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual(['memory', 'none', true]);
  }, 30_000);
});

describe('every target', () => {
  const worker = new FuzzWorker();
  afterAll(() => worker.close());
  // Targets whose seeds come from the guests take a few seconds to prepare.
  for (const t of TARGETS) {
    it(`${t.name}: its seeds run cleanly and ${t.weight ? 3 : 25} mutated inputs end in values or DiskProbeErrors`, async () => {
      const r = await worker.run({ target: t.name, runSeed: 20261203, from: 0, count: t.weight ? 3 : 25, limits: { timeMs: 5000, allocMb: 128, heapMb: 256 } });
      expect(r, `${t.name} hung`).not.toBe('hang');
      const { done, failures } = r as Exclude<typeof r, 'hang'>;
      expect(failures, JSON.stringify(failures, null, 1)).toEqual([]);
      expect(done.executions).toBe(t.weight ? 3 : 25);
    }, 120_000);
  }
});
