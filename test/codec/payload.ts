/**
 * Deterministic payloads for the codec tests, and the list of zstd frames made from them by
 * the zstd CLI (test/codec/data/make.sh). Text payloads stamp every 512-byte sector with its
 * number, so a mismatch names its offset.
 *
 * Run as a script (`npx tsx test/codec/payload.ts <dir>`) it writes each frame's payload to
 * `<dir>/<name>` for make.sh to compress.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const WORDS = 'the disk image cluster sector qcow2 header table offset refcount snapshot backing file guest kernel initrd grub boot mount root etc fstab systemd network cloud init zstd deflate'.split(' ');

/** One part of a payload. */
export type Part =
  | { kind: 'text'; size: number; seed: number }
  | { kind: 'random'; size: number; seed: number }
  | { kind: 'run'; size: number; byte: number };

/** Text from a small vocabulary, each 512-byte sector starting with `[sector N]`. */
function text(size: number, seed: number, base: number): Uint8Array {
  const out = new Uint8Array(size);
  const next = prng(seed);
  let at = 0;
  while (at < size) {
    const sector = Math.floor((base + at) / 512);
    const stamp = (base + at) % 512 === 0 ? `[sector ${sector}] ` : '';
    const word = stamp + WORDS[next() % WORDS.length]! + (next() % 11 === 0 ? '\n' : ' ');
    for (let i = 0; i < word.length && at < size; i++) {
      out[at++] = word.charCodeAt(i);
      if ((base + at) % 512 === 0) break; // the next sector starts with its stamp
    }
  }
  return out;
}

/** The bytes of a payload made of `parts`, one after another. */
export function payload(parts: Part[]): Uint8Array {
  const size = parts.reduce((s, p) => s + p.size, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    if (p.kind === 'text') out.set(text(p.size, p.seed, at), at);
    else if (p.kind === 'run') out.fill(p.byte, at, at + p.size);
    else {
      const next = prng(p.seed);
      for (let i = 0; i < p.size; i++) out[at + i] = next() & 0xff;
    }
    at += p.size;
  }
  return out;
}

const KiB = 1024;

/** The committed zstd frames (data/make.sh has the zstd command that made each): file name and payload. */
export interface FrameFixture {
  file: string;
  parts: Part[];
  /** Compressed from stdin: the frame has no Frame_Content_Size, and has a Window_Descriptor. */
  stdin?: boolean;
  /** What the frame shows (checked against its block headers in the tests). */
  blocks: { raw?: boolean; rle?: boolean; compressed?: boolean; count?: number };
  checksum: boolean;
}

export const FRAMES: FrameFixture[] = [
  { file: 'text-512.zst', parts: [{ kind: 'text', size: 512, seed: 1 }], blocks: { compressed: true, count: 1 }, checksum: false },
  { file: 'text-4k.zst', parts: [{ kind: 'text', size: 4 * KiB, seed: 2 }], blocks: { compressed: true, count: 1 }, checksum: false },
  { file: 'text-64k-19.zst', parts: [{ kind: 'text', size: 64 * KiB, seed: 3 }], blocks: { compressed: true, count: 1 }, checksum: false },
  { file: 'text-64k-check.zst', parts: [{ kind: 'text', size: 64 * KiB, seed: 3 }], blocks: { compressed: true, count: 1 }, checksum: true },
  {
    file: 'text-64k-stdin.zst',
    parts: [{ kind: 'text', size: 64 * KiB, seed: 4 }],
    stdin: true,
    blocks: { compressed: true },
    checksum: false,
  },
  { file: 'rle-4k.zst', parts: [{ kind: 'run', size: 4 * KiB, byte: 0xab }], blocks: { rle: true, compressed: true, count: 4 }, checksum: false },
  { file: 'raw-4k.zst', parts: [{ kind: 'random', size: 4 * KiB, seed: 5 }], blocks: { raw: true, count: 1 }, checksum: false },
  {
    // A 1 KiB window, so 1 KiB blocks: text (compressed), random bytes (raw), a run (RLE).
    file: 'multi-256k.zst',
    parts: [
      { kind: 'text', size: 64 * KiB, seed: 6 },
      { kind: 'random', size: 8 * KiB, seed: 7 },
      { kind: 'run', size: 120 * KiB, byte: 0 },
      { kind: 'text', size: 64 * KiB, seed: 8 },
    ],
    blocks: { compressed: true, raw: true, rle: true, count: 256 },
    checksum: true,
  },
  {
    file: 'multi-256k-blocks.zst',
    parts: [
      { kind: 'text', size: 128 * KiB, seed: 9 },
      { kind: 'random', size: 16 * KiB, seed: 9 },
      { kind: 'text', size: 112 * KiB, seed: 10 },
    ],
    blocks: { compressed: true },
    checksum: false,
  },
  {
    file: 'text-2m.zst',
    parts: [
      { kind: 'text', size: 256 * KiB, seed: 11 },
      { kind: 'run', size: 1792 * KiB, byte: 0 },
    ],
    blocks: { compressed: true },
    checksum: false,
  },
];

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: npx tsx test/codec/payload.ts <dir>');
  mkdirSync(dir, { recursive: true });
  for (const f of FRAMES) writeFileSync(join(dir, f.file.replace(/\.zst$/, '')), payload(f.parts));
}
