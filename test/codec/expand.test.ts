/**
 * Whole-stream decoders (gzip, xz, lzma, lz4, bzip2, zstd without a content size) against what each
 * tool decompressed its own output to (test/codec/streams/make.sh, streams.facts; zstd frames
 * from test/codec/data). Cut and damaged streams give a DiskProbeError, and expansion stops at
 * the limit.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bzip2Expand } from '../../src/codec/bzip2.js';
import { gzipExpand } from '../../src/codec/gzip.js';
import { lzmaAloneExpand, xzExpand } from '../../src/codec/lzma.js';
import { lz4Expand } from '../../src/codec/lz4.js';
import { zstdExpand, zstdExpandWith } from '../../src/codec/zstd.js';
import { DiskProbeError } from '../../src/index.js';

const DIR = join(import.meta.dirname, 'streams');
const facts = readFileSync(join(DIR, 'streams.facts'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => {
    const [file, size, out, sha] = l.split(' ');
    return { file: file!, size: Number(size), out: Number(out), sha: sha! };
  });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
type Expand = (input: Uint8Array, limit: number) => { output: Uint8Array; consumed: number } | Promise<{ output: Uint8Array; consumed: number }>;
const decoderOf = (file: string): Expand => (file.endsWith('.gz') ? gzipExpand : file.endsWith('.xz') ? xzExpand : file.endsWith('.lzma') ? lzmaAloneExpand : file.endsWith('.bz2') ? bzip2Expand : lz4Expand);

describe.each(facts)('$file', ({ file, size, out, sha }) => {
  const bytes = new Uint8Array(readFileSync(join(DIR, file)));
  const expand = decoderOf(file);

  it('expands to what the tool expanded it to, consuming the whole stream', async () => {
    expect(bytes.length).toBe(size);
    // Trailing bytes after the stream are not read.
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes);
    padded.fill(0xaa, bytes.length);
    const r = await expand(file.endsWith('.lz4') && file.includes('legacy') ? bytes : padded, 1 << 30);
    expect(r.output.length).toBe(out);
    expect(sha256(r.output)).toBe(sha);
    expect(r.consumed).toBe(bytes.length);
  });

  it('stops at the limit, and gives a DiskProbeError for cut or damaged streams', async () => {
    await expect((async () => expand(bytes, out - 1))()).rejects.toMatchObject({ code: 'E_LIMIT' });
    await fc.assert(
      fc.asyncProperty(fc.nat(bytes.length - 1), fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.nat(255)), { maxLength: 4 }), async (cut, flips) => {
        const b = bytes.slice(0, Math.max(1, cut));
        for (const [at, v] of flips) b[at % b.length] = v;
        try {
          await expand(b, 8 << 20);
        } catch (e) {
          if (!(e instanceof DiskProbeError)) throw e;
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('zstd without a content size', () => {
  it('expands a frame made from stdin to what zstd made it from', async () => {
    const lines = readFileSync(join(import.meta.dirname, 'data', 'frames.facts'), 'utf8').trim().split('\n');
    const [file, size, out, sha] = lines.find((l) => l.startsWith('text-64k-stdin.zst'))!.split(' ');
    const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, 'data', file!)));
    const r = await zstdExpand(bytes, 1 << 30);
    expect(r.consumed).toBe(Number(size));
    expect(r.output.length).toBe(Number(out));
    expect(sha256(r.output)).toBe(sha);
    await expect(zstdExpand(bytes, Number(out) - 1)).rejects.toMatchObject({ code: 'E_LIMIT' });
  });
});

describe('zstd expanded in place', () => {
  it('hands the output zstd made, in the heap for a sized frame and as an array without a size', async () => {
    const lines = readFileSync(join(import.meta.dirname, 'data', 'frames.facts'), 'utf8').trim().split('\n');
    for (const name of ['text-2m.zst', 'text-64k-check.zst', 'text-64k-stdin.zst', 'rle-4k.zst']) {
      const [file, size, out, sha] = lines.find((l) => l.startsWith(`${name} `))!.split(' ');
      const bytes = new Uint8Array(readFileSync(join(import.meta.dirname, 'data', file!)));
      const r = await zstdExpandWith(bytes, 1 << 30, (output) => sha256(output));
      expect(r.value, name).toBe(sha);
      expect(r.size, name).toBe(Number(out));
      expect(r.consumed, name).toBe(Number(size));
      await expect(zstdExpandWith(bytes, Number(out) - 1, () => 0), name).rejects.toMatchObject({ code: 'E_LIMIT' });
    }
  });
});
