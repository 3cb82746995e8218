/**
 * Fault injection (issue #16): the good check guest read through a device that misbehaves at
 * random: reads that fail (E_IO for any read touching a chosen range), reads that come back
 * short (a device or proxy breaking the BlockDevice contract), and reads that are delayed. A
 * check under faults may say ERROR where it could not read, but never gives an item another
 * decided verdict than the clean run does: an OK, WARNING or FAILED is never built on bytes it
 * did not get. Delays change nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { check, DiskProbeError, ErrorCode, fromBytes, type BlockDevice, type CheckReport } from '../../src/index.js';
import { FIXTURES } from '../helpers/fixtures.js';

/**
 * A device whose reads fail (E_IO) when they touch [from, to), from the `skip`-th read on (the
 * first reads — the probe's head — succeed, so that faults land in the middle of a check).
 */
function faulty(dev: BlockDevice, from: number, to: number, skip: number): BlockDevice {
  let n = 0;
  return {
    size: dev.size,
    label: dev.label,
    async read(offset, length, signal) {
      if (n++ >= skip && offset < to && offset + length > from) throw new DiskProbeError(ErrorCode.IO, 'injected read error', { layer: 'device', device: dev.label, offset });
      return dev.read(offset, length, signal);
    },
  };
}

/** A device whose reads touching [from, to) return `cut` bytes fewer than asked, from the `skip`-th read on. */
function short(dev: BlockDevice, from: number, to: number, skip: number, cut: number): BlockDevice {
  let n = 0;
  return {
    size: dev.size,
    label: dev.label,
    async read(offset, length, signal) {
      const bytes = await dev.read(offset, length, signal);
      return n++ >= skip && offset < to && offset + length > from ? bytes.subarray(0, Math.max(0, length - cut)) : bytes;
    },
  };
}

/** A device whose reads each wait 0–`ms` milliseconds (chosen by `delays`, in turn). */
function slow(dev: BlockDevice, delays: number[]): BlockDevice {
  let n = 0;
  return {
    size: dev.size,
    label: dev.label,
    async read(offset, length, signal) {
      await new Promise((r) => setTimeout(r, delays[n++ % delays.length]));
      return dev.read(offset, length, signal);
    },
  };
}

const verdicts = (r: CheckReport) => new Map(r.profiles.flatMap((p) => p.check_items.map((i) => [`${p.profile} ${i.id}`, i.result] as const)));

let runs = 0;
describe('checks under injected read errors', () => {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'checks/good.qcow2')));
  let clean: Map<string, string>;
  beforeAll(async () => {
    clean = verdicts(await check(fromBytes(bytes, 'good.qcow2'), { profile: 'all', digestSkipped: 'test' }));
  });

  it('a failed read makes items ERROR (or leaves them as they were), never another decided verdict', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 65536 }), fc.integer({ min: 1, max: 40 }), async (from, len, skip) => {
        runs++;
        const r = await check(faulty(fromBytes(bytes, 'good.qcow2'), from, from + len, skip), { profile: 'all', digestSkipped: 'test' });
        const wrong: string[] = [];
        for (const [k, v] of verdicts(r)) {
          const was = clean.get(k);
          if (v !== was && v !== 'ERROR' && !(v === 'SKIPPED' && was === undefined)) wrong.push(`${k}: ${v} (clean: ${was})`);
        }
        expect(wrong, `reads of [${from}, ${from + len}) failing from read ${skip}`).toEqual([]);
      }),
      { numRuns: 60 },
    );
    expect(runs).toBeGreaterThanOrEqual(60);
  });

  it('a short read is E_IO, never bytes taken for others: items ERROR or as they were', { timeout: 120_000 }, async () => {
    let shortRuns = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 65536 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4096 }), async (from, len, skip, cut) => {
        shortRuns++;
        const r = await check(short(fromBytes(bytes, 'good.qcow2'), from, from + len, skip, cut), { profile: 'all', digestSkipped: 'test' });
        const wrong: string[] = [];
        for (const [k, v] of verdicts(r)) {
          const was = clean.get(k);
          if (v !== was && v !== 'ERROR' && !(v === 'SKIPPED' && was === undefined)) wrong.push(`${k}: ${v} (clean: ${was})`);
        }
        expect(wrong, `reads of [${from}, ${from + len}) ${cut} bytes short from read ${skip}`).toEqual([]);
        // The errors name what happened.
        const errors = r.profiles.flatMap((p) => p.check_items.filter((i) => i.result === 'ERROR' && clean.get(`${p.profile} ${i.id}`) !== 'ERROR'));
        for (const i of errors) expect(i.description).not.toMatch(/TypeError|RangeError|undefined/);
      }),
      { numRuns: 30 },
    );
    expect(shortRuns).toBeGreaterThanOrEqual(30);
    // One short read at the very start: the probe's own read. Nothing is decided from it.
    const r = await check(short(fromBytes(bytes, 'good.qcow2'), 0, 1, 0, 1), { profile: 'generic', digestSkipped: 'test' });
    expect(r.profiles[0]!.check_items.every((i) => i.result === 'ERROR' || i.result === 'SKIPPED' || clean.get(`generic ${i.id}`) === i.result)).toBe(true);
  });

  it('delayed reads change no verdict', { timeout: 120_000 }, async () => {
    for (const delays of [[0, 3, 1, 7, 0, 0, 12], [5]]) {
      const r = await check(slow(fromBytes(bytes, 'good.qcow2'), delays), { profile: 'all', digestSkipped: 'test' });
      expect(verdicts(r)).toEqual(clean);
    }
  });
});
