/**
 * The mutation property every filesystem reader must keep: with bytes of its metadata changed
 * at random, opening and walking it ends in values or DiskProbeErrors, within 100 ms.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { DiskProbeError, openFileSystem, type BlockDevice } from '../../src/index.js';
import { patched } from '../helpers/patched.js';

const onlyProbeErrors = (x: unknown) => {
  expect(x).toBeInstanceOf(DiskProbeError);
  return undefined;
};

/**
 * Flips up to 12 bytes inside `ranges` ([offset, length] of metadata) of `disk`, then opens the
 * filesystem, lists `dirs` with an lstat and (small files) a read of each entry, and reads `file`.
 */
export async function mutationProperty(disk: BlockDevice, ranges: [number, number][], dirs: string[], file: string, runs = 150): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), async (flips) => {
      let dev = disk;
      for (const [pick, value] of flips) {
        const [start, length] = ranges[pick % ranges.length]!;
        dev = patched(dev, start + ((pick >>> 4) % length), new Uint8Array([value]));
      }
      const t = performance.now();
      try {
        const fs = await openFileSystem(dev);
        await fs.statfs();
        for (const path of dirs) {
          for (const e of await fs.readdir(path).catch(() => [])) {
            const p = `${path === '/' ? '' : path}/${e.name}`;
            const s = await fs.lstat(p).catch(onlyProbeErrors);
            if (s && s.type === 'file' && s.size < 1 << 20) await fs.readFile(p).catch(onlyProbeErrors);
          }
        }
        await fs.readFile(file).catch(onlyProbeErrors);
      } catch (e) {
        expect(e).toBeInstanceOf(DiskProbeError);
      }
      expect(performance.now() - t).toBeLessThan(100);
    }),
    { numRuns: runs },
  );
}

/** What `work` ends in: `ok`, or the code of the DiskProbeError it threw (anything else fails), within a second. */
export async function outcome(work: () => Promise<unknown>): Promise<string> {
  const t = performance.now();
  try {
    await work();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(DiskProbeError);
    return (e as DiskProbeError).code;
  } finally {
    expect(performance.now() - t).toBeLessThan(1000);
  }
}
