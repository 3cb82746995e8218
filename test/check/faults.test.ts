/**
 * Fault injection (issue #16): the good check guest read through a device that fails reads at
 * random (an E_IO for any read that touches a chosen range of the file). A check under faults
 * may say ERROR where it could not read, but never gives an item another decided verdict than
 * the clean run does: an OK, WARNING or FAILED is never built on bytes it did not get.
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
});
