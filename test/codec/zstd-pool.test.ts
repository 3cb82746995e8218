/**
 * Node's zstd decoder hands requests that arrive together to worker threads: the results must
 * be the same bytes the zstd CLI recorded (frames.facts), and errors must still be
 * DiskProbeErrors, whichever thread decoded.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskProbeError } from '../../src/index.js';
import { nodeCodecs } from '../../src/node/index.js';

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
