/**
 * The codecs against independent encoders: node:zlib's deflateRawSync for deflate, and frames
 * made by the zstd CLI (test/codec/data/make.sh, with the facts zstd recorded) for zstd. Every
 * stream is followed by trailing bytes, as qcow2 hands compressed clusters over in whole
 * sectors. Bad input of every kind must give a DiskProbeError (layer `container`, format the
 * codec's name) within 100 ms, never another error, a hang or a large allocation.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync, inflateRawSync, type ZlibOptions } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { browserCodecs, readZstdFrame, zstdFrameLength, type Codecs, type Decoder } from '../../src/codec/index.js';
import { makeZstdDecoder } from '../../src/codec/zstd.js';
import { DiskProbeError, ErrorCode } from '../../src/errors.js';
import { nodeCodecs } from '../../src/node/codecs.js';
import { FRAMES, payload, prng, type FrameFixture } from './payload.js';

const DATA = join(import.meta.dirname, 'data');
const KiB = 1024;
const MiB = 1024 * KiB;
const CLUSTER_SIZES = [512, 4 * KiB, 64 * KiB, 2 * MiB];

const SETS: [string, Codecs][] = [
  ['browserCodecs', browserCodecs],
  ['nodeCodecs', nodeCodecs],
];
/** zstd through zstddec's public decode() (used when another zstddec user initialised it first). */
const zstdPublic = makeZstdDecoder(true);
const ZSTD_DECODERS: [string, Decoder][] = [...SETS.map(([name, set]): [string, Decoder] => [`${name}.zstd`, set.zstd]), ['zstddec decode() fallback', zstdPublic]];
const DEFLATE_DECODERS: [string, Decoder][] = SETS.map(([name, set]) => [`${name}.deflateRaw`, set.deflateRaw]);

async function decode(decoder: Decoder, input: Uint8Array, size: number): Promise<Uint8Array> {
  const output = new Uint8Array(size);
  await decoder(input, output);
  return output;
}

/** The error a decoder gives (sync throw or rejection); fails if it succeeds or throws anything else. */
async function failure(decoder: Decoder, input: Uint8Array, size: number): Promise<DiskProbeError> {
  try {
    await decoder(input, new Uint8Array(size));
  } catch (e) {
    if (!(e instanceof DiskProbeError)) throw e;
    expect(e.layer).toBe('container');
    expect(e.message).toMatch(/^(deflate|zstd): /);
    return e;
  }
  throw new Error('expected a DiskProbeError');
}

/** The stream padded to whole sectors, then `extra` more bytes, the trailing ones random. */
function withTrailing(stream: Uint8Array, seed: number, extra = 512): Uint8Array {
  const out = new Uint8Array(Math.ceil(stream.length / 512) * 512 + extra);
  out.set(stream);
  const next = prng(seed);
  for (let i = stream.length; i < out.length; i++) out[i] = next() & 0xff;
  return out;
}

function sha256(u8: Uint8Array): string {
  return createHash('sha256').update(u8).digest('hex');
}

/** Index of the first differing byte, for messages that name the offset (-1 if equal). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function deflate(data: Uint8Array, options: ZlibOptions = { level: 6, windowBits: 12, memLevel: 9 }): Uint8Array {
  return new Uint8Array(deflateRawSync(data, options));
}

// ---------------------------------------------------------------------------------------------

/** Deflate settings: qemu's (deflateInit2 level 6, window bits -12, memLevel 9) and others. */
const ZLIB_SETTINGS: [string, ZlibOptions][] = [
  ['qemu (level 6, windowBits 12, memLevel 9)', { level: 6, windowBits: 12, memLevel: 9 }],
  ['level 9, windowBits 15', { level: 9, windowBits: 15 }],
  ['level 1', { level: 1 }],
  ['level 0 (stored blocks)', { level: 0 }],
  ['Huffman only', { strategy: constants.Z_HUFFMAN_ONLY }],
  ['RLE', { strategy: constants.Z_RLE }],
  ['fixed codes', { strategy: constants.Z_FIXED }],
];

const PAYLOADS: [string, (size: number) => Uint8Array][] = [
  ['text', (size) => payload([{ kind: 'text', size, seed: size }])],
  ['random', (size) => payload([{ kind: 'random', size, seed: size }])],
  ['zeros', (size) => new Uint8Array(size)],
  [
    'mixed',
    (size) =>
      payload([
        { kind: 'text', size: size / 2, seed: 3 },
        { kind: 'random', size: size / 4, seed: 4 },
        { kind: 'run', size: size / 4, byte: 0x5a },
      ]),
  ],
];

/**
 * A raw deflate stream that expands as much as deflate can: one literal, then `matches` copies
 * of 258 bytes at distance 1, 2 bits each (dynamic Huffman block with 1-bit codes), then the
 * end of block. Output: 1 + 258 * matches bytes.
 */
function expandingStream(matches: number): Uint8Array {
  const bytes: number[] = [];
  let acc = 0;
  let n = 0;
  const bits = (value: number, count: number) => {
    for (let i = 0; i < count; i++) {
      acc |= ((value >>> i) & 1) << n;
      if (++n === 8) {
        bytes.push(acc);
        acc = 0;
        n = 0;
      }
    }
  };
  /** Huffman codes go most significant bit first. */
  const code = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits((value >>> i) & 1, 1);
  };
  bits(1, 1); // BFINAL
  bits(2, 2); // BTYPE = dynamic
  bits(29, 5); // HLIT: 286 literal/length codes
  bits(0, 5); // HDIST: 1 distance code
  bits(14, 4); // HCLEN: 18 code length codes
  // Code length code lengths in RFC 1951 order 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1:
  // 18 -> 1 bit (code 0), 2 -> 2 bits (code 11), 1 -> 2 bits (code 10).
  const clOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
  const clLength: Record<number, number> = { 18: 1, 2: 2, 1: 2 };
  for (const s of clOrder) bits(clLength[s] ?? 0, 3);
  const zeros = (count: number) => {
    code(0, 1);
    bits(count - 11, 7);
  };
  // Literal/length lengths: 0 -> 2, 1..255 -> 0, 256 -> 2, 257..284 -> 0, 285 -> 1; distance 0 -> 1.
  code(3, 2); // length 2 (symbol 0)
  zeros(138);
  zeros(117);
  code(3, 2); // length 2 (symbol 256)
  zeros(28);
  code(2, 2); // length 1 (symbol 285)
  code(2, 2); // length 1 (distance 0)
  // Codes: 285 -> 0, 0 -> 10, 256 -> 11; distance 0 -> 0.
  code(2, 2); // literal 0
  for (let i = 0; i < matches; i++) code(0, 2); // length 258 (no extra bits), distance 1
  code(3, 2); // end of block
  if (n) bytes.push(acc);
  return new Uint8Array(bytes);
}

describe.each(DEFLATE_DECODERS)('%s', (_name, inflate) => {
  describe.each(CLUSTER_SIZES)('%d-byte clusters', (size) => {
    const settings = size === 2 * MiB ? ZLIB_SETTINGS.slice(0, 2) : ZLIB_SETTINGS;
    it.each(PAYLOADS)('%s: every zlib setting, with trailing bytes', async (_kind, make) => {
      const data = make(size);
      for (const [setting, options] of settings) {
        const input = withTrailing(deflate(data, options), size);
        const out = await decode(inflate, input, size);
        expect(firstDifference(out, data), setting).toBe(-1);
      }
    });
  });

  it('random payloads, sizes, settings and trailing bytes round-trip (property)', async () => {
    const chunk = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 3000 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), length: fc.integer({ min: 1, max: 20000 }) }).map(({ byte, length }) => new Uint8Array(length).fill(byte)),
      fc.integer({ min: 1, max: 20000 }).map((length) => payload([{ kind: 'text', size: length, seed: length }])),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(chunk, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 9, max: 15 }),
        fc.uint8Array({ maxLength: 1024 }),
        async (chunks, level, windowBits, trailing) => {
          const data = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
          let at = 0;
          for (const c of chunks) {
            data.set(c, at);
            at += c.length;
          }
          const stream = deflate(data, { level, windowBits });
          const input = new Uint8Array(stream.length + trailing.length);
          input.set(stream);
          input.set(trailing, stream.length);
          const out = await decode(inflate, input, data.length);
          expect(firstDifference(out, data)).toBe(-1);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a stream that ends before the output is full is E_CORRUPT', async () => {
    for (const size of CLUSTER_SIZES) {
      const data = payload([{ kind: 'text', size: size - 1, seed: 1 }]);
      const e = await failure(inflate, withTrailing(deflate(data), 1), size);
      expect(e.code).toBe(ErrorCode.CORRUPT);
      expect(e.format).toBe('deflate');
      expect(e.message).toMatch(/ends before the output is full/);
    }
  });

  it('a stream that goes on past the output is E_CORRUPT', async () => {
    for (const more of [1, 100_000]) {
      const data = payload([{ kind: 'text', size: 64 * KiB + more, seed: 1 }]);
      const e = await failure(inflate, withTrailing(deflate(data), 1), 64 * KiB);
      expect(e.code).toBe(ErrorCode.CORRUPT);
      expect(e.message).toMatch(/more than the output holds/);
    }
  });

  it('a truncated stream is E_CORRUPT', async () => {
    const data = payload([{ kind: 'text', size: 64 * KiB, seed: 2 }]);
    const stream = deflate(data);
    for (const cut of [0.1, 0.5, 0.99]) {
      const e = await failure(inflate, stream.subarray(0, Math.floor(stream.length * cut)), 64 * KiB);
      expect(e.code).toBe(ErrorCode.CORRUPT);
    }
  });

  it('a stream that expands 1000-fold stops with E_CORRUPT, quickly', async () => {
    // 64 KiB of compressed data that would expand to 67 MB.
    const stream = expandingStream(64 * KiB * 4 - 16);
    // zlib agrees the construction is deflate (on a small one).
    expect(inflateRawSync(expandingStream(100))).toEqual(Buffer.alloc(1 + 258 * 100));
    const started = performance.now();
    const e = await failure(inflate, withTrailing(stream, 3), 64 * KiB);
    expect(e.code).toBe(ErrorCode.CORRUPT);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('random bytes are E_CORRUPT, each within 100 ms (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 80_000 }), fc.constantFrom(512, 4 * KiB, 64 * KiB), async (input, size) => {
        const started = performance.now();
        const e = await failure(inflate, input, size);
        expect(performance.now() - started).toBeLessThan(100);
        expect(e.code).toBe(ErrorCode.CORRUPT);
      }),
      { numRuns: 200 },
    );
  });

  it('mutated streams give the right size or a DiskProbeError, each within 100 ms (property)', async () => {
    const data = payload([{ kind: 'text', size: 64 * KiB, seed: 9 }]);
    const stream = withTrailing(deflate(data), 9);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), async (flips) => {
        const input = stream.slice();
        for (const [at, xor] of flips) input[at % input.length]! ^= xor;
        const started = performance.now();
        try {
          await decode(inflate, input, 64 * KiB);
        } catch (e) {
          expect(e).toBeInstanceOf(DiskProbeError);
        }
        expect(performance.now() - started).toBeLessThan(100);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts and refuses what zlib does, with the same bytes (differential property)', async () => {
    /** zlib's answer: the output if the stream gives exactly `size` bytes, else undefined. */
    const zlib = (input: Uint8Array, size: number) => {
      try {
        const r = inflateRawSync(input, { maxOutputLength: size });
        return r.length === size ? new Uint8Array(r) : undefined;
      } catch {
        return undefined;
      }
    };
    const streams = [
      withTrailing(deflate(payload([{ kind: 'text', size: 4 * KiB, seed: 21 }])), 21),
      withTrailing(deflate(payload([{ kind: 'text', size: 4 * KiB, seed: 22 }]), { strategy: constants.Z_FIXED }), 22),
      withTrailing(deflate(payload([{ kind: 'random', size: 1 * KiB, seed: 23 }]), { level: 0 }), 23),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            stream: fc.constantFrom(...streams),
            flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
            cut: fc.option(fc.nat(), { nil: undefined }),
          }).map(({ stream, flips, cut }) => {
            const input = stream.slice(0, cut === undefined ? stream.length : 1 + (cut % stream.length));
            for (const [at, xor] of flips) input[at % input.length]! ^= xor;
            return input;
          }),
          fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        ),
        fc.constantFrom(1 * KiB, 4 * KiB),
        async (input, size) => {
          const expected = zlib(input, size);
          let got: Uint8Array | DiskProbeError;
          try {
            got = await decode(inflate, input, size);
          } catch (e) {
            if (!(e instanceof DiskProbeError)) throw e;
            got = e;
          }
          if (expected === undefined) expect(got).toBeInstanceOf(DiskProbeError);
          else {
            expect(got).toBeInstanceOf(Uint8Array);
            expect(firstDifference(got as Uint8Array, expected)).toBe(-1);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('no input is E_CORRUPT; no output is E_ARGUMENT', async () => {
    expect((await failure(inflate, new Uint8Array(0), 512)).code).toBe(ErrorCode.CORRUPT);
    expect((await failure(inflate, deflate(new Uint8Array(10)), 0)).code).toBe(ErrorCode.ARGUMENT);
  });

  it('several decompressions in flight each get their own cluster', async () => {
    const datas = Array.from({ length: 16 }, (_, i) => payload([{ kind: 'text', size: 64 * KiB, seed: 100 + i }]));
    const outs = await Promise.all(datas.map((d, i) => decode(inflate, withTrailing(deflate(d), i), 64 * KiB)));
    outs.forEach((out, i) => expect(firstDifference(out, datas[i]!)).toBe(-1));
  });
});

// ---------------------------------------------------------------------------------------------

interface Fact {
  frameBytes: number;
  decompressedBytes: number;
  sha256: string;
}

/** frames.facts: what zstd itself said of each committed frame. */
const FACTS: Map<string, Fact> = new Map(
  readFileSync(join(DATA, 'frames.facts'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [file, frameBytes, decompressedBytes, hash] = line.split(' ');
      return [file!, { frameBytes: Number(frameBytes), decompressedBytes: Number(decompressedBytes), sha256: hash! }];
    }),
);

function frame(f: FrameFixture): Uint8Array {
  return new Uint8Array(readFileSync(join(DATA, f.file)));
}

/** The Block_Type of each block of a frame (RFC 8878 §3.1.1.2), for checking what a fixture shows. */
function blockTypes(u8: Uint8Array): number[] {
  const fhd = u8[4]!;
  const single = (fhd >> 5) & 1;
  let at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]! + [single, 2, 4, 8][fhd >> 6]!;
  const types = [];
  for (;;) {
    const h = u8[at]! | (u8[at + 1]! << 8) | (u8[at + 2]! << 16);
    types.push((h >> 1) & 3);
    at += 3 + (((h >> 1) & 3) === 1 ? 1 : h >> 3);
    if (h & 1) return types;
  }
}

/** A hand-made frame: single segment, 1-byte Frame_Content_Size, one last raw block of `content`. */
function rawFrame(content: Uint8Array, options: { dictionaryId?: number } = {}): Uint8Array {
  const did = options.dictionaryId !== undefined;
  const header = [0x28, 0xb5, 0x2f, 0xfd, 0x20 | (did ? 1 : 0), ...(did ? [options.dictionaryId!] : []), content.length];
  const block = ((content.length << 3) | 1) >>> 0; // Raw_Block, Last_Block
  const out = new Uint8Array(header.length + 3 + content.length);
  out.set(header);
  out.set([block & 0xff, (block >> 8) & 0xff, block >> 16], header.length);
  out.set(content, header.length + 3);
  return out;
}

describe('the committed zstd frames', () => {
  it('are what frames.facts and payload.ts say', () => {
    expect([...FACTS.keys()].sort()).toEqual(FRAMES.map((f) => f.file).sort());
    for (const f of FRAMES) {
      const u8 = frame(f);
      const fact = FACTS.get(f.file)!;
      expect(u8.length, f.file).toBe(fact.frameBytes);
      const data = payload(f.parts);
      expect(data.length, f.file).toBe(fact.decompressedBytes);
      expect(sha256(data), `${f.file}: payload.ts no longer makes what was compressed`).toBe(fact.sha256);
      const types = blockTypes(u8);
      if (f.blocks.count !== undefined) expect(types.length, f.file).toBe(f.blocks.count);
      if (f.blocks.raw) expect(types, f.file).toContain(0);
      if (f.blocks.rle) expect(types, f.file).toContain(1);
      if (f.blocks.compressed) expect(types, f.file).toContain(2);
      const info = readZstdFrame(u8);
      expect(info.hasChecksum, f.file).toBe(f.checksum);
      expect(info.hasContentSize, f.file).toBe(!f.stdin);
    }
  });

  it('zstdFrameLength finds where each ends, whatever follows', () => {
    for (const f of FRAMES) {
      const u8 = frame(f);
      for (const [seed, extra] of [
        [1, 0],
        [2, 512],
        [3, 4096],
      ] as const) {
        expect(zstdFrameLength(withTrailing(u8, seed, extra)), f.file).toBe(FACTS.get(f.file)!.frameBytes);
      }
      // Followed by another frame: the length is the first one's.
      const two = new Uint8Array(u8.length * 2);
      two.set(u8);
      two.set(u8, u8.length);
      expect(zstdFrameLength(two)).toBe(u8.length);
    }
  });
});

describe.each(ZSTD_DECODERS)('%s', (_name, unzstd) => {
  it.each(FRAMES.map((f) => [f.file, f] as const))('%s, with trailing bytes, decodes to what zstd -d gives', async (_file, f) => {
    const fact = FACTS.get(f.file)!;
    const data = payload(f.parts);
    for (const seed of [1, 2]) {
      const out = await decode(unzstd, withTrailing(frame(f), seed), fact.decompressedBytes);
      expect(sha256(out)).toBe(fact.sha256);
      expect(firstDifference(out, data)).toBe(-1);
    }
  });

  it('decodes the cluster sizes 512, 4 KiB, 64 KiB and 2 MiB', async () => {
    const bySize = new Map(FRAMES.map((f) => [FACTS.get(f.file)!.decompressedBytes, f]));
    for (const size of CLUSTER_SIZES) {
      const f = bySize.get(size)!;
      expect(f, `a frame of ${size} bytes`).toBeDefined();
      const out = await decode(unzstd, withTrailing(frame(f), size), size);
      expect(sha256(out)).toBe(FACTS.get(f.file)!.sha256);
    }
  });

  it('a frame shorter than the output is E_CORRUPT (with and without Frame_Content_Size)', async () => {
    for (const file of ['text-64k-19.zst', 'text-64k-stdin.zst']) {
      const f = FRAMES.find((x) => x.file === file)!;
      const e = await failure(unzstd, withTrailing(frame(f), 1), 64 * KiB + 1);
      expect(e.code).toBe(ErrorCode.CORRUPT);
      expect(e.format).toBe('zstd');
    }
  });

  it('a frame longer than the output is E_CORRUPT (with and without Frame_Content_Size)', async () => {
    for (const file of ['text-64k-19.zst', 'text-64k-stdin.zst']) {
      const f = FRAMES.find((x) => x.file === file)!;
      const e = await failure(unzstd, withTrailing(frame(f), 1), 64 * KiB - 1);
      expect(e.code).toBe(ErrorCode.CORRUPT);
    }
  });

  it('a wrong Content_Checksum is E_CORRUPT', async () => {
    const f = FRAMES.find((x) => x.file === 'text-64k-check.zst')!;
    const u8 = frame(f);
    u8[u8.length - 1]! ^= 0x40;
    const e = await failure(unzstd, withTrailing(u8, 1), 64 * KiB);
    expect(e.code).toBe(ErrorCode.CORRUPT);
    // libzstd called directly names its error; zstddec's decode() cannot.
    if (unzstd !== zstdPublic) expect(e.message).toMatch(/checksum_wrong/);
  });

  it('random bytes are E_CORRUPT, each within 100 ms (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 80_000 }), fc.constantFrom(512, 4 * KiB, 64 * KiB), async (input, size) => {
        const started = performance.now();
        const e = await failure(unzstd, input, size);
        expect(performance.now() - started).toBeLessThan(100);
        expect(e.code).toBe(ErrorCode.CORRUPT);
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes after the zstd magic give a DiskProbeError within 100 ms (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 80_000 }), fc.constantFrom(512, 64 * KiB), async (rest, size) => {
        const input = new Uint8Array(4 + rest.length);
        input.set([0x28, 0xb5, 0x2f, 0xfd]);
        input.set(rest, 4);
        const started = performance.now();
        const e = await failure(unzstd, input, size);
        expect(performance.now() - started).toBeLessThan(100);
        expect([ErrorCode.CORRUPT, ErrorCode.UNSUPPORTED]).toContain(e.code);
      }),
      { numRuns: 200 },
    );
  });

  it('mutated frames give the right size or a DiskProbeError, each within 100 ms (property)', async () => {
    const frames = ['text-64k-19.zst', 'multi-256k.zst', 'text-64k-stdin.zst'].map((file) => FRAMES.find((f) => f.file === file)!);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...frames),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (f, flips) => {
          const input = withTrailing(frame(f), 7);
          for (const [at, xor] of flips) input[at % input.length]! ^= xor;
          const started = performance.now();
          try {
            await decode(unzstd, input, FACTS.get(f.file)!.decompressedBytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DiskProbeError);
          }
          expect(performance.now() - started).toBeLessThan(100);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips a skippable frame before the data, as libzstd does', async () => {
    const content = payload([{ kind: 'random', size: 100, seed: 1 }]);
    const skippable = [0x5a, 0x2a, 0x4d, 0x18, 16, 0, 0, 0, ...new Array<number>(16).fill(0xee)];
    const input = new Uint8Array([...skippable, ...rawFrame(content), 1, 2, 3]);
    expect(zstdFrameLength(input)).toBe(24);
    expect(firstDifference(await decode(unzstd, input, 100), content)).toBe(-1);
  });

  it('a frame that needs a dictionary is E_UNSUPPORTED; Dictionary_ID 0 is none', async () => {
    const content = payload([{ kind: 'random', size: 100, seed: 2 }]);
    expect((await failure(unzstd, rawFrame(content, { dictionaryId: 7 }), 100)).code).toBe(ErrorCode.UNSUPPORTED);
    expect(firstDifference(await decode(unzstd, rawFrame(content, { dictionaryId: 0 }), 100), content)).toBe(-1);
  });

  it('no input is E_CORRUPT; no output is E_ARGUMENT', async () => {
    expect((await failure(unzstd, new Uint8Array(0), 512)).code).toBe(ErrorCode.CORRUPT);
    expect((await failure(unzstd, frame(FRAMES[0]!), 0)).code).toBe(ErrorCode.ARGUMENT);
  });
});

describe('zstd frame walking', () => {
  const text = frame(FRAMES.find((f) => f.file === 'text-64k-19.zst')!);
  const multi = frame(FRAMES.find((f) => f.file === 'multi-256k.zst')!);

  it('every truncation of a frame is E_TRUNCATED from zstdFrameLength, E_CORRUPT from the decoder', async () => {
    for (const u8 of [text, multi]) {
      const cuts = new Set([0, 1, 3, 4, 5, 6, 7, 8, 9, 10, u8.length - 4, u8.length - 1]);
      for (let i = 0; i < 200; i++) cuts.add(Math.floor((u8.length * i) / 200));
      for (const cut of cuts) {
        const part = u8.subarray(0, cut);
        let error: unknown;
        try {
          zstdFrameLength(part);
        } catch (e) {
          error = e;
        }
        expect(error, `cut at ${cut}`).toBeInstanceOf(DiskProbeError);
        expect((error as DiskProbeError).code, `cut at ${cut}`).toBe(ErrorCode.TRUNCATED);
        if (cut > 0) expect((await failure(browserCodecs.zstd, part, 64 * KiB)).code).toBe(ErrorCode.CORRUPT);
      }
    }
  });

  it('garbage is E_BAD_MAGIC; a reserved bit or block type is E_CORRUPT', () => {
    const code = (u8: Uint8Array) => {
      try {
        zstdFrameLength(u8);
      } catch (e) {
        if (e instanceof DiskProbeError) return e.code;
        throw e;
      }
      return 'no error';
    };
    expect(code(new Uint8Array(64).fill(0x41))).toBe(ErrorCode.BAD_MAGIC);
    const reservedBit = text.slice();
    reservedBit[4]! |= 0x08;
    expect(code(reservedBit)).toBe(ErrorCode.CORRUPT);
    const reservedType = rawFrame(new Uint8Array(4));
    reservedType[6]! |= 0x06; // Block_Type 3
    expect(code(reservedType)).toBe(ErrorCode.CORRUPT);
  });

  it('random bytes give a length or a DiskProbeError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (rest) => {
        const u8 = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, ...rest]);
        try {
          const n = zstdFrameLength(u8);
          expect(n).toBeGreaterThan(4);
          expect(n).toBeLessThanOrEqual(u8.length);
        } catch (e) {
          expect(e).toBeInstanceOf(DiskProbeError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a huge declared Block_Size is refused from the header, before anything is decoded or allocated', () => {
    // Single segment, Frame_Content_Size 65536 (2-byte field: 65536 - 256), then a compressed
    // last block claiming 2^21 - 1 bytes, with that much input behind it.
    const input = new Uint8Array(3 * MiB);
    input.set([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0xff]);
    const header = ((0x1fffff << 3) | (2 << 1) | 1) >>> 0;
    input.set([header & 0xff, (header >> 8) & 0xff, header >>> 16], 7);
    expect(() => zstdFrameLength(input)).toThrow(/Block_Header.Block_Size at 0x7 = 2097151 \(expected 0..65536\)/);
    // The decoder throws synchronously: it never got as far as the WebAssembly decoder.
    const fresh = makeZstdDecoder();
    expect(() => fresh(input, new Uint8Array(64 * KiB))).toThrow(DiskProbeError);
  });

  it('a block larger than a small window is refused', () => {
    // Window_Descriptor 0 (1 KiB window), no content size, a raw block of 2 KiB.
    const input = new Uint8Array(16 + 2048);
    input.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00]);
    const header = ((2048 << 3) | 1) >>> 0;
    input.set([header & 0xff, (header >> 8) & 0xff, header >>> 16], 6);
    expect(() => zstdFrameLength(input)).toThrow(/Block_Size .* \(expected 0..1024\)/);
  });

  it('a huge Frame_Content_Size is refused before decoding; a huge window allocates nothing', async () => {
    // 8-byte Frame_Content_Size of 2^60.
    const big = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x01, 0x00, 0x00, 0x41]);
    const fresh = makeZstdDecoder();
    expect(() => fresh(big, new Uint8Array(512))).toThrow(/Frame_Content_Size/);
    // Window_Descriptor 0xf8 (2^41 + 7/8 of it), no content size, one raw block of 512 bytes.
    const content = payload([{ kind: 'random', size: 512, seed: 3 }]);
    const windowed = new Uint8Array(9 + 512);
    windowed.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xff]);
    const header = ((512 << 3) | 1) >>> 0;
    windowed.set([header & 0xff, (header >> 8) & 0xff, header >>> 16], 6);
    windowed.set(content, 9);
    expect(readZstdFrame(windowed).windowSize).toBeGreaterThan(2 ** 41);
    for (const [, unzstd] of ZSTD_DECODERS) {
      const started = performance.now();
      try {
        const out = await decode(unzstd, windowed, 512);
        expect(firstDifference(out, content)).toBe(-1);
      } catch (e) {
        expect(e).toBeInstanceOf(DiskProbeError); // libzstd refuses windows past 2^31
      }
      expect(performance.now() - started).toBeLessThan(100);
    }
  });

  it('the WebAssembly decoder starts on the first call (a promise) and is synchronous after', async () => {
    const fresh = makeZstdDecoder();
    const f = FRAMES.find((x) => x.file === 'text-4k.zst')!;
    const out = new Uint8Array(4 * KiB);
    const first = fresh(frame(f), out);
    expect(first).toBeInstanceOf(Promise);
    await first;
    expect(sha256(out)).toBe(FACTS.get(f.file)!.sha256);
    out.fill(0);
    expect(fresh(frame(f), out)).toBeUndefined();
    expect(sha256(out)).toBe(FACTS.get(f.file)!.sha256);
  });
});
