/**
 * Node's zstd decoder hands requests that arrive together to worker threads: the results must
 * be the same bytes the zstd CLI recorded (frames.facts), and errors must still be
 * DiskProbeErrors, whichever thread decoded.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DiskProbeError } from '../../src/index.js';
import { nodeCodecs } from '../../src/node/index.js';
import { poolStatus } from '../../src/node/decode-pool.js';

const DATA = join(import.meta.dirname, 'data');
const facts = readFileSync(join(DATA, 'frames.facts'), 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [file, , size, sha] = line.split(/\s+/);
    return { file: file!, size: Number(size), sha: sha! };
  });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
// Trailing bytes after the frame, as qcow2's sector padding leaves them.
const padded = (file: string) => {
  const frame = readFileSync(join(DATA, file));
  const out = new Uint8Array(frame.length + 700);
  out.set(frame);
  out.fill(0xa5, frame.length);
  return out;
};

describe('zstd through the worker pool', () => {
  it('decodes many frames issued together to the bytes zstd recorded', async () => {
    const jobs = facts.flatMap((f) => [f, f, f]).map(async (f) => {
      const out = new Uint8Array(f.size);
      await nodeCodecs.zstd(padded(f.file), out);
      return [f, sha256(out)] as const;
    });
    for (const [f, got] of await Promise.all(jobs)) expect(got, f.file).toBe(f.sha);
    expect(poolStatus('zstd').workers).toBeGreaterThan(0);
  });

  it('queues more frames than the mailboxes hold, and enlarges a mailbox for a larger frame mid-stream', async () => {
    const small = facts.find((f) => f.file === 'text-4k.zst')!;
    const large = facts.find((f) => f.file === 'text-2m.zst')!;
    // 100 small frames fill every slot and queue; the large one (a 2 MiB output, larger than the
    // slots the small ones sized) must wait for an idle worker, and the ones after it still decode.
    const order = [...Array<typeof small>(50).fill(small), large, ...Array<typeof small>(50).fill(small), large];
    const jobs = order.map(async (f) => {
      const out = new Uint8Array(f.size);
      await nodeCodecs.zstd(padded(f.file), out);
      return [f, sha256(out)] as const;
    });
    for (const [f, got] of await Promise.all(jobs)) expect(got, f.file).toBe(f.sha);
  });

  it('frees the slots of frames that fail: a batch of failures is followed by good decodes', async () => {
    const good = facts.find((f) => f.file === 'text-64k-19.zst')!;
    const broken = padded(good.file);
    broken[40] = broken[40]! ^ 0xff;
    broken[41] = broken[41]! ^ 0xff;
    const call = (input: Uint8Array, out: Uint8Array) => (async () => nodeCodecs.zstd(input, out))();
    const bad = await Promise.allSettled(Array.from({ length: 40 }, () => call(broken, new Uint8Array(good.size))));
    expect(bad.every((r) => r.status === 'rejected' && (r.reason as DiskProbeError).code === 'E_CORRUPT')).toBe(true);
    const outs = Array.from({ length: 40 }, () => new Uint8Array(good.size));
    await Promise.all(outs.map((out) => call(padded(good.file), out)));
    for (const out of outs) expect(sha256(out)).toBe(good.sha);
  });

  it('reports a corrupt frame in a batch as a DiskProbeError and still decodes the others', async () => {
    const good = facts.find((f) => f.file === 'text-64k-19.zst')!;
    const broken = padded(good.file);
    broken[40] = broken[40]! ^ 0xff;
    broken[41] = broken[41]! ^ 0xff;
    // Decoders may throw synchronously (the frame header is checked first): call each in an async function.
    const call = (input: Uint8Array, out: Uint8Array) => (async () => nodeCodecs.zstd(input, out))();
    const results = await Promise.allSettled([
      call(padded(good.file), new Uint8Array(good.size)),
      call(broken, new Uint8Array(good.size)),
      call(padded(good.file), new Uint8Array(good.size + 1)),
    ]);
    expect(results[0]!.status).toBe('fulfilled');
    for (const r of results.slice(1)) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DiskProbeError);
      expect(((r as PromiseRejectedResult).reason as DiskProbeError).code).toBe('E_CORRUPT');
    }
  });
});

describe('deflate through the worker pool', () => {
  // Independent encoder: node:zlib's deflateRawSync, over data of several kinds and sizes.
  const sample = (size: number, seed: number) => {
    const out = new Uint8Array(size);
    let x = seed;
    for (let i = 0; i < size; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out[i] = i % 3 === 0 ? x >>> 24 : (i >> 6) & 0xff;
    }
    return out;
  };
  const streams = [512, 4096, 65536, 2 << 20].map((size, k) => {
    const data = sample(size, k + 1);
    const stream = new Uint8Array(deflateRawSync(data));
    const input = new Uint8Array(stream.length + 700).fill(0xa5);
    input.set(stream);
    return { data, stream, input };
  });
  const call = (input: Uint8Array, out: Uint8Array) => (async () => nodeCodecs.deflateRaw(input, out, { concurrent: true }))();

  it('decodes many streams issued together, including one larger than the slots, to the original bytes', async () => {
    const order = [...streams, ...streams, ...streams.slice(0, 3).flatMap((s) => [s, s, s, s, s, s, s, s, s, s])];
    const outs = order.map((s) => new Uint8Array(s.data.length));
    await Promise.all(order.map((s, k) => call(s.input, outs[k]!)));
    order.forEach((s, k) => expect(sha256(outs[k]!), `stream ${k}`).toBe(sha256(s.data)));
    // Decoded by the workers, not by the inline fallback.
    expect(poolStatus('deflate')).toEqual({ workers: expect.any(Number) });
    expect(poolStatus('deflate').workers).toBeGreaterThan(0);
  });

  it('reports corrupt, short, long and cut streams as E_CORRUPT and decodes good ones after them', async () => {
    const good = streams[2]!;
    const corrupt = good.input.slice();
    corrupt[0] = 0xff; // block type 3: invalid
    const cut = good.stream.slice(0, good.stream.length - 20);
    const cases: [string, Uint8Array, number][] = [
      ['corrupt', corrupt, good.data.length],
      ['output longer than the stream', good.input, good.data.length + 1],
      ['output shorter than the stream', good.input, good.data.length - 1],
      ['stream cut short', cut, good.data.length],
    ];
    for (const concurrent of [true, false]) {
      const results = await Promise.allSettled(
        cases.flatMap(([, input, size]) => [0, 1, 2].map(() => (async () => nodeCodecs.deflateRaw(input, new Uint8Array(size), { concurrent }))())),
      );
      results.forEach((r, k) => {
        expect(r.status, `${cases[Math.floor(k / 3)]![0]} (concurrent: ${concurrent})`).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DiskProbeError);
        expect(((r as PromiseRejectedResult).reason as DiskProbeError).code).toBe('E_CORRUPT');
      });
      const outs = Array.from({ length: 6 }, () => new Uint8Array(good.data.length));
      await Promise.all(outs.map((out) => (async () => nodeCodecs.deflateRaw(good.input, out, { concurrent }))()));
      for (const out of outs) expect(sha256(out)).toBe(sha256(good.data));
    }
  });
});

describe('the workers and process exit', () => {
  it('lets a process that used the workers exit on its own', { timeout: 30_000 }, () => {
    // A worker that never got a job used to keep its port referenced (a 'message' listener added
    // after unref() refs it again), so `diskprobe convert` of a compressed image never exited.
    const root = join(import.meta.dirname, '../..');
    const script = `
      import { nodeCodecs } from ${JSON.stringify(join(root, 'src/node/index.js'))};
      import { deflateRawSync } from 'node:zlib';
      const stream = deflateRawSync(new Uint8Array(65536).fill(7));
      // One job, sent to the workers: the other worker (on a machine of two or more cores) gets none.
      await nodeCodecs.deflateRaw(stream, new Uint8Array(65536), { concurrent: true });
      console.log('decoded');
    `;
    // A file, not -e: Node ends an -e script when it has run, whatever still holds the loop.
    const dir = mkdtempSync(join(tmpdir(), 'diskprobe-exit-'));
    const file = join(dir, 'exit.mts');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 15_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout.trim()).toBe('decoded');
    expect(r.signal, 'the process had to be killed: it did not exit').toBeNull();
    expect(r.status).toBe(0);
  });
});
