/**
 * fast-check properties: random bytes, and fixtures with bytes mutated where the headers are,
 * given to probe() and openDisk(), give a result or a DiskProbeError — never another error —
 * each within 100 ms.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DiskProbeError, fromBytes, openDisk, probe } from '../../src/index.js';
import { fixtureIndex, fixturePath } from '../helpers/fixtures.js';

const MAGICS: [number | 'tail', number[]][] = [
  [0, [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]], // qcow2 v3
  [0, [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1]], // qcow v1
  [0, [...'KDMV'].map((c) => c.charCodeAt(0))],
  [0, [...'COWD'].map((c) => c.charCodeAt(0))],
  [0, [...'vhdxfile'].map((c) => c.charCodeAt(0))],
  [0, [...'conectix'].map((c) => c.charCodeAt(0))],
  ['tail', [...'conectix'].map((c) => c.charCodeAt(0))],
  [0, [...'QED\0'].map((c) => c.charCodeAt(0))],
  [0, [...'WithoutFreeSpace'].map((c) => c.charCodeAt(0))],
  [0x40, [0x7f, 0x10, 0xda, 0xbe]],
  [0, [0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]],
  [0x8001, [...'CD001'].map((c) => c.charCodeAt(0))],
  [0, [0x1f, 0x8b, 8, 0xff]],
  [0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]],
  [0, [0x28, 0xb5, 0x2f, 0xfd]],
  [0, [...'BZh9'].map((c) => c.charCodeAt(0))],
  [0, [...'PK\x03\x04'].map((c) => c.charCodeAt(0))],
  [257, [...'ustar\0'].map((c) => c.charCodeAt(0))],
  [0, [...'# Disk DescriptorFile\ncreateType='].map((c) => c.charCodeAt(0))],
];

async function bothWithin(bytes: Uint8Array, ms: number): Promise<void> {
  const dev = fromBytes(bytes);
  const started = performance.now();
  try {
    const result = await probe(dev);
    expect(typeof result.format).toBe('string');
    // A probe that failed with anything but a DiskProbeError is a bug, even though probe()
    // reports it as a damaged header rather than crash its caller.
    expect(result.problem ?? '').not.toMatch(/internal error/);
    for (const m of result.alsoMatched) expect(m.problem ?? '').not.toMatch(/internal error/);
    const disk = await openDisk(dev);
    if (disk.size > 0) await disk.read(Math.floor(disk.size / 2), Math.min(512, disk.size - Math.floor(disk.size / 2)));
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
  }
  expect(performance.now() - started).toBeLessThan(ms);
}

describe('probe and openDisk on random bytes', () => {
  it('give a result or a DiskProbeError within 100 ms', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 200_000 }),
        fc.option(fc.constantFrom(...MAGICS), { freq: 4 }),
        async (bytes, magic) => {
          const u8 = new Uint8Array(bytes);
          if (magic) {
            const [where, value] = magic;
            const at = where === 'tail' ? u8.length - 512 : where;
            if (at >= 0 && at + value.length <= u8.length) u8.set(value, at);
          }
          await bothWithin(u8, 100);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('probe and openDisk on fixtures cut at their structures', () => {
  // Where the formats keep tables: VHDX headers and region tables, ISO descriptors, the
  // qcow2 L1 area; each cut a few bytes either side.
  const CUTS = [512, 4096, 32768, 65536, 131072, 196608, 262144, 327680, 1 << 20, 2 << 20, 3 << 20];
  it('give a result or a DiskProbeError for every cut', async () => {
    for (const entry of fixtureIndex()) {
      const bytes = new Uint8Array(readFileSync(fixturePath(entry.file)));
      for (const at of CUTS) {
        for (const delta of [-16, -1, 0, 1, 4, 8, 11, 16, 31]) {
          const cut = at + delta;
          if (cut > 0 && cut < bytes.length) await bothWithin(bytes.subarray(0, cut), 100);
        }
      }
    }
  });
});

describe('probe and openDisk on mutated fixtures', () => {
  const seeds = fixtureIndex()
    .map((e) => readFileSync(fixturePath(e.file)))
    .filter((b) => b.length > 0 && b.length <= 32 << 20)
    .map((b) => new Uint8Array(b));

  it('give a result or a DiskProbeError within 100 ms', async () => {
    const boundary = fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.oneof(boundary, fc.nat({ max: 255 })), fc.boolean()), { minLength: 1, maxLength: 24 }),
        fc.option(fc.nat(), { freq: 5 }),
        async (which, mutations, truncateAt) => {
          const seed = seeds[which]!;
          let u8 = seed.slice();
          for (const [pos, value, nearEnd] of mutations) {
            // Headers live in the first 512 KiB and the last KiB: mutate there.
            const span = Math.min(u8.length, nearEnd ? 1024 : 512 * 1024);
            const at = nearEnd ? u8.length - 1 - (pos % span) : pos % span;
            u8[at] = value;
          }
          if (truncateAt !== null) u8 = u8.subarray(0, truncateAt % (u8.length + 1));
          await bothWithin(u8, 100);
        },
      ),
      { numRuns: 300 },
    );
  });
});
