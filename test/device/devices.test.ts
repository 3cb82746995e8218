import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cached, DiskProbeError, fromBlob, fromBytes, readChunks, slice, type BlockDevice } from '../../src/index.js';

/** Bytes where every 4-byte word holds its own offset: a misread names where it came from. */
function pattern(size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  for (let i = 0; i + 4 <= size; i += 4) view.setUint32(i, i, true);
  return out;
}

const SIZE = 300_001; // not a multiple of any block size
const DATA = pattern(SIZE);

/** Reads within [0, size] of all shapes: empty, one byte, unaligned, spanning blocks, the last byte. */
function reads(size: number) {
  return fc.array(
    fc.integer({ min: 0, max: size }).chain((offset) => fc.tuple(fc.constant(offset), fc.integer({ min: 0, max: Math.min(size - offset, 70_000) }))),
    { minLength: 1, maxLength: 20 },
  );
}

function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) expect.fail(`first mismatch at ${i}: ${actual[i]} != ${expected[i]}`);
  }
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<DiskProbeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DiskProbeError);
  expect((e as DiskProbeError).code).toBe(code);
  return e as DiskProbeError;
}

describe('fromBytes', () => {
  const dev = fromBytes(DATA, 'pattern');
  it('returns exactly the bytes asked for', async () => {
    expectSame(await dev.read(0, 16), DATA.subarray(0, 16));
    expectSame(await dev.read(SIZE - 1, 1), DATA.subarray(SIZE - 1));
    expect((await dev.read(SIZE, 0)).length).toBe(0);
  });
  it('rejects reads outside the device with E_RANGE naming the device and offset', async () => {
    const e = await rejectsWith(dev.read(SIZE - 1, 2), 'E_RANGE');
    expect(e.device).toBe('pattern');
    expect(e.offset).toBe(SIZE - 1);
    await rejectsWith(dev.read(-1, 1), 'E_RANGE');
    await rejectsWith(dev.read(0.5, 1), 'E_RANGE');
    await rejectsWith(dev.read(0, Number.NaN), 'E_RANGE');
    await rejectsWith(dev.read(0, 2 ** 40), 'E_RANGE');
  });
  it('honours an aborted signal', async () => {
    await rejectsWith(dev.read(0, 1, AbortSignal.abort()), 'E_ABORTED');
  });
});

describe('fromBlob', () => {
  it('reads the same bytes as memory', async () => {
    const dev = fromBlob(new Blob([DATA]), 'blob');
    await fc.assert(
      fc.asyncProperty(reads(SIZE), async (list) => {
        for (const [offset, length] of list) expectSame(await dev.read(offset, length), DATA.subarray(offset, offset + length));
      }),
      { numRuns: 30 },
    );
    await rejectsWith(dev.read(SIZE, 1), 'E_RANGE');
  });
});

describe('slice', () => {
  it('reads the window, clamped to the device, and refuses past its end', async () => {
    const base = fromBytes(DATA);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: SIZE + 10 }), fc.integer({ min: 0, max: SIZE }), async (start, size) => {
        const s = slice(base, start, size);
        const from = Math.min(start, SIZE);
        const expected = DATA.subarray(from, Math.min(from + size, SIZE));
        expect(s.size).toBe(expected.length);
        expectSame(await s.read(0, s.size), expected);
        await rejectsWith(s.read(s.size, 1), 'E_RANGE');
      }),
      { numRuns: 50 },
    );
  });
  it('rejects a negative or fractional window', () => {
    expect(() => slice(fromBytes(DATA), -1, 5)).toThrow(DiskProbeError);
    expect(() => slice(fromBytes(DATA), 1.5, 5)).toThrow(DiskProbeError);
  });
});

/** A device that counts the reads it serves. */
function counting(inner: BlockDevice) {
  const calls: [number, number][] = [];
  return {
    calls,
    dev: { size: inner.size, label: inner.label, read: (o: number, n: number, s?: AbortSignal) => (calls.push([o, n]), inner.read(o, n, s)) } as BlockDevice,
  };
}

describe('cached', () => {
  it('returns the same bytes as memory for random reads, sequential and concurrent', async () => {
    await fc.assert(
      fc.asyncProperty(
        reads(SIZE),
        fc.constantFrom(512, 4096, 65536),
        fc.integer({ min: 1, max: 64 }),
        fc.boolean(),
        fc.boolean(),
        async (list, blockSize, blocks, concurrent, direct) => {
          const dev = cached(fromBytes(DATA), { blockSize, maxBytes: blockSize * blocks, directBytes: direct ? undefined : 1 << 30 });
          const check = async ([offset, length]: [number, number]) =>
            expectSame(await dev.read(offset, length), DATA.subarray(offset, offset + length));
          if (concurrent) await Promise.all(list.map(check));
          else for (const r of list) await check(r);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('merges adjacent misses into one read and serves repeats from the cache', async () => {
    const { dev: inner, calls } = counting(fromBytes(DATA));
    const dev = cached(inner, { blockSize: 4096, maxBytes: 1 << 20 });
    expectSame(await dev.read(100, 20_000), DATA.subarray(100, 20_100));
    expect(calls).toEqual([[0, 20_480]]);
    expectSame(await dev.read(5000, 100), DATA.subarray(5000, 5100));
    expect(calls.length).toBe(1);
    expect(dev.stats.hits).toBeGreaterThan(0);
  });

  it('shares in-flight reads and merges reads issued together', async () => {
    const { dev: inner, calls } = counting(fromBytes(DATA));
    const dev = cached(inner, { blockSize: 4096, maxBytes: 1 << 20 });
    const parts = await Promise.all([dev.read(0, 10), dev.read(4096, 10), dev.read(8192, 10), dev.read(0, 10)]);
    expect(calls).toEqual([[0, 12_288]]);
    expectSame(parts[2]!, DATA.subarray(8192, 8202));
  });

  it('sends large uncached reads straight to the device without evicting what it holds', async () => {
    const { dev: inner, calls } = counting(fromBytes(DATA));
    const dev = cached(inner, { blockSize: 4096, maxBytes: 8 * 4096, directBytes: 16_384 });
    await dev.read(0, 100); // a small read: cached
    expectSame(await dev.read(50_000, 40_000), DATA.subarray(50_000, 90_000)); // a scan: direct
    expect(calls).toEqual([
      [0, 4096],
      [50_000, 40_000],
    ]);
    await dev.read(10, 10); // still cached
    expect(calls).toHaveLength(2);
    await dev.read(4096, 3 * 4096); // small: cached
    expectSame(await dev.read(0, 16_384), DATA.subarray(0, 16_384)); // large but wholly cached
    expect(calls).toHaveLength(3);
  });

  it('reads the short last block', async () => {
    const dev = cached(fromBytes(DATA), { blockSize: 65536 });
    expectSame(await dev.read(SIZE - 3, 3), DATA.subarray(SIZE - 3));
  });

  it('stays within its bound', async () => {
    const { dev: inner, calls } = counting(fromBytes(DATA));
    const dev = cached(inner, { blockSize: 4096, maxBytes: 4096 * 4 });
    for (let i = 0; i < 10; i++) await dev.read(i * 4096, 1);
    calls.length = 0;
    await dev.read(0, 1); // evicted long ago
    expect(calls.length).toBe(1);
    await dev.read(9 * 4096, 1); // still cached
    expect(calls.length).toBe(1);
  });

  it('passes errors through and does not cache them', async () => {
    let fail = true;
    const flaky: BlockDevice = {
      size: SIZE,
      label: 'flaky',
      read: (o, n) => (fail ? Promise.reject(new DiskProbeError('E_IO', 'boom', { layer: 'device' })) : Promise.resolve(DATA.subarray(o, o + n))),
    };
    const dev = cached(flaky, { blockSize: 4096 });
    await rejectsWith(dev.read(0, 10), 'E_IO');
    fail = false;
    expectSame(await dev.read(0, 10), DATA.subarray(0, 10));
  });

  it('lets one caller abort without failing a read another caller shares', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: BlockDevice = { size: SIZE, label: 'slow', read: async (o, n) => (await gate, DATA.subarray(o, o + n)) };
    const dev = cached(slow, { blockSize: 4096 });
    const controller = new AbortController();
    const a = dev.read(0, 10, controller.signal);
    const b = dev.read(0, 10);
    controller.abort();
    await rejectsWith(a, 'E_ABORTED');
    release();
    expectSame(await b, DATA.subarray(0, 10));
  });

  it('with reuse, returns the right bytes while evicted buffers are read into again', async () => {
    // A device that writes into the caller's buffer after a random delay, as a read in a thread
    // pool does: a buffer handed on while a reader still had to copy out of it would show.
    const slow: BlockDevice = {
      size: SIZE,
      label: 'slow',
      read: (offset, length) => Promise.resolve(DATA.slice(offset, offset + length)),
      readInto: (offset, target) =>
        new Promise((resolve) =>
          setTimeout(() => {
            target.set(DATA.subarray(offset, offset + target.length));
            resolve();
          }, Math.random() * 3),
        ),
    };
    await fc.assert(
      fc.asyncProperty(reads(SIZE), fc.integer({ min: 1, max: 8 }), fc.boolean(), async (list, blocks, into) => {
        const dev = cached(slow, { blockSize: 4096, maxBytes: 4096 * blocks, directBytes: 1 << 30, reuse: true });
        const check = async ([offset, length]: [number, number]) => {
          // Reads start over time, so that misses are read into buffers evicted meanwhile.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 6));
          let got: Uint8Array;
          if (into) {
            got = new Uint8Array(length).fill(0xee);
            await dev.readInto!(offset, got);
          } else got = await dev.read(offset, length);
          // Later reads reuse the cache's buffers: what was handed out must not change.
          await new Promise((resolve) => setTimeout(resolve, 2));
          expectSame(got, DATA.subarray(offset, offset + length));
        };
        await Promise.all([...list, ...list].map(check));
      }),
      { numRuns: 60 },
    );
  });

  it('rejects bad options', () => {
    expect(() => cached(fromBytes(DATA), { blockSize: 1000 })).toThrow(DiskProbeError);
    expect(() => cached(fromBytes(DATA), { blockSize: 4096, maxBytes: 100 })).toThrow(DiskProbeError);
  });
});

describe('readChunks', () => {
  it('yields the whole device in order', async () => {
    const dev = fromBytes(DATA);
    const parts: Uint8Array[] = [];
    for await (const c of readChunks(dev, { chunkSize: 65536 })) parts.push(c.slice());
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    expectSame(joined, DATA);
    expect(parts.length).toBe(Math.ceil(SIZE / 65536));
  });
});
