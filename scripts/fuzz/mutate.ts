/**
 * Mutations for the fuzzer: a deterministic random source, the mutation records a failure is
 * saved as, and the two ways an input is built from its seed (a copy of the bytes for small
 * seeds, an overlay device for images that are megabytes long).
 *
 * A mutation is plain data, so a failing input is stored as its seed's name and a short list of
 * mutations (fixtures/fuzz/*.json) and rebuilt exactly from the committed fixture.
 */
import type { BlockDevice } from '../../src/index.js';
import { DiskProbeError, ErrorCode } from '../../src/index.js';

/** sfc32: small, fast, and the same sequence everywhere for one seed. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = seed >>> 0;
    this.b = (stream * 0x9e3779b9) >>> 0;
    this.c = 0x6a09e667;
    this.d = 1;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n) for n up to 2^53 (0 when n is 0). */
  below(n: number): number {
    if (n <= 0) return 0;
    if (n <= 0x1_0000_0000) return Math.floor((this.next() / 0x1_0000_0000) * n);
    return Math.floor(((this.next() * 0x1_0000_0000 + this.next()) / 2 ** 64) * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** A stable 32-bit hash of a string (FNV-1a), to derive a stream per target and iteration. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * One change to an input. `set` writes bytes over it; `truncate` cuts it to `length` (or grows
 * it with zeros); `copy` copies `length` bytes from `from` to `at` within the input (a splice of
 * its own structures); `insert` and `remove` shift what follows (byte inputs only).
 */
export type Mutation =
  | { op: 'set'; at: number; bytes: number[]; why?: string }
  | { op: 'truncate'; length: number }
  | { op: 'copy'; at: number; from: number; length: number }
  | { op: 'insert'; at: number; bytes: number[] }
  | { op: 'remove'; at: number; length: number };

/** A field of a structure worth setting to boundary values: where, how wide, which byte order. */
export interface Field {
  at: number;
  width: 1 | 2 | 4 | 8;
  le: boolean;
  name?: string;
}

/** What the mutator knows about a seed besides its bytes. */
export interface SeedShape {
  size: number;
  /** Ranges [offset, length] the reader looked at in a clean run: its metadata. */
  hot: [number, number][];
  /** Named header fields. */
  fields: Field[];
  /** The byte order of the format's integers, for integers placed in hot ranges. */
  le: boolean;
  /** Whether the input is a byte array (insert/remove allowed) or an overlay device. */
  bytes: boolean;
  /** Text tokens worth inserting (text formats). */
  tokens?: readonly string[];
}

const encoder = new TextEncoder();

/** Boundary values for an integer field of `width` bytes at `at` in an input of `size` bytes. */
function boundaries(width: number, at: number, size: number, rng: Random, hot: [number, number][]): bigint[] {
  const max = (1n << BigInt(width * 8)) - 1n;
  const values = [0n, 1n, 2n, 3n, 4n, 7n, 8n, 16n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x200n, 0x1000n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n];
  values.push(0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 53n, (1n << 63n) - 1n, 1n << 63n);
  values.push(max, max - 1n, max >> 1n);
  values.push(BigInt(size), BigInt(size + 1), BigInt(Math.max(0, size - 1)), BigInt(size) * 2n, BigInt(size) * 512n);
  values.push(BigInt(at), BigInt(Math.floor(at / 512)), BigInt(Math.floor(at / 4096)), BigInt(Math.floor(at / 65536)));
  if (hot.length) {
    const [o] = rng.pick(hot);
    values.push(BigInt(o), BigInt(Math.floor(o / 512)), BigInt(Math.floor(o / 4096)));
  }
  return values.map((v) => v & max);
}

function encodeInt(value: bigint, width: number, le: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < width; i++) out.push(Number((value >> BigInt(8 * i)) & 0xffn));
  return le ? out : out.reverse();
}

function hotOffset(shape: SeedShape, rng: Random): number {
  if (shape.hot.length && rng.chance(0.85)) {
    const [start, length] = rng.pick(shape.hot);
    return start + rng.below(Math.max(1, length));
  }
  return rng.below(Math.max(1, shape.size));
}

/** One random mutation for a seed of this shape. */
export function mutation(shape: SeedShape, rng: Random): Mutation {
  const size = shape.size;
  const roll = rng.below(100);
  if (shape.fields.length && roll < 25) {
    const f = rng.pick(shape.fields);
    const v = rng.pick(boundaries(f.width, f.at, size, rng, shape.hot));
    return { op: 'set', at: f.at, bytes: encodeInt(v, f.width, f.le), ...(f.name ? { why: f.name } : {}) };
  }
  if (roll < 45) {
    const width = rng.pick([1, 2, 4, 8] as const);
    const at = hotOffset(shape, rng) & ~(width - 1);
    return { op: 'set', at, bytes: encodeInt(rng.pick(boundaries(width, at, size, rng, shape.hot)), width, shape.le) };
  }
  if (roll < 70) {
    const at = hotOffset(shape, rng);
    const n = 1 + rng.below(rng.chance(0.8) ? 2 : 8);
    const bytes: number[] = [];
    for (let i = 0; i < n; i++) bytes.push(rng.chance(0.5) ? rng.below(256) : rng.pick([0, 0xff, 0x7f, 0x80, 0x20, 0x0a, 0x22, 0x2f]));
    return { op: 'set', at, bytes };
  }
  if (roll < 78) {
    const hotEnd: [number, number] = shape.hot.length ? rng.pick(shape.hot) : [size, 0];
    const length = rng.pick([rng.below(size + 1), hotEnd[0] + rng.below(hotEnd[1] + 1), size - 1 - rng.below(4096), size + 1 + rng.below(4096)]);
    return { op: 'truncate', length: Math.max(0, length) };
  }
  if (roll < 88 || !shape.bytes) {
    const length = 1 + rng.below(rng.chance(0.7) ? 64 : 4096);
    return { op: 'copy', at: hotOffset(shape, rng), from: hotOffset(shape, rng), length };
  }
  if (roll < 96) {
    const bytes = shape.tokens?.length && rng.chance(0.8) ? [...encoder.encode(rng.pick(shape.tokens))] : [rng.below(256)];
    return { op: 'insert', at: rng.below(size + 1), bytes };
  }
  return { op: 'remove', at: rng.below(size + 1), length: 1 + rng.below(rng.chance(0.7) ? 8 : 256) };
}

/** Between one and `max` mutations, fewer more often. */
export function mutations(shape: SeedShape, rng: Random, max = 8): Mutation[] {
  const n = 1 + Math.min(rng.below(max), rng.below(max));
  const out: Mutation[] = [];
  for (let i = 0; i < n; i++) out.push(mutation(shape, rng));
  return out;
}

/** The seed's bytes with the mutations applied, in order (a new array; the seed is untouched). */
export function applyToBytes(seed: Uint8Array, list: readonly Mutation[]): Uint8Array {
  let b = seed;
  let owned = false;
  const own = () => {
    if (!owned) {
      b = b.slice();
      owned = true;
    }
  };
  for (const m of list) {
    switch (m.op) {
      case 'set': {
        // Bytes past the end are dropped: a set never grows the input.
        if (m.at >= b.length) continue;
        own();
        b.set(m.bytes.slice(0, b.length - m.at), m.at);
        break;
      }
      case 'truncate': {
        const n = new Uint8Array(m.length);
        n.set(b.subarray(0, Math.min(b.length, m.length)));
        b = n;
        owned = true;
        break;
      }
      case 'copy': {
        own();
        const length = Math.min(m.length, b.length - m.at, b.length - m.from, 1 << 20);
        if (length > 0 && m.at >= 0 && m.from >= 0) b.copyWithin(m.at, m.from, m.from + length);
        break;
      }
      case 'insert': {
        const at = Math.min(m.at, b.length);
        const n = new Uint8Array(b.length + m.bytes.length);
        n.set(b.subarray(0, at));
        n.set(m.bytes, at);
        n.set(b.subarray(at), at + m.bytes.length);
        b = n;
        owned = true;
        break;
      }
      case 'remove': {
        const at = Math.min(m.at, b.length);
        const end = Math.min(b.length, at + m.length);
        const n = new Uint8Array(b.length - (end - at));
        n.set(b.subarray(0, at));
        n.set(b.subarray(end), at);
        b = n;
        owned = true;
        break;
      }
    }
  }
  return b;
}

/**
 * `base` seen through the mutations, without copying it: `set` and `copy` become patches over
 * the ranges they touch, `truncate` changes the size (growing reads zeros). `insert` and
 * `remove` are not used on devices.
 */
export function applyToDevice(base: BlockDevice, list: readonly Mutation[]): BlockDevice {
  let size = base.size;
  // Patches in order, a later one winning where they overlap; `bytes` undefined reads zeros (what
  // a cut and regrown input holds), and a copy's bytes are read when first needed.
  const patches: { at: number; length: number; bytes?: Uint8Array; from?: number }[] = [];
  let extent = base.size;
  for (const m of list) {
    if (m.op === 'set') {
      if (m.at < size) patches.push({ at: m.at, length: Math.min(m.bytes.length, size - m.at), bytes: Uint8Array.from(m.bytes.slice(0, size - m.at)) });
    }
    else if (m.op === 'truncate') {
      if (m.length < extent) patches.push({ at: m.length, length: extent - m.length });
      size = m.length;
      extent = Math.max(extent, size);
    } else if (m.op === 'copy') {
      const length = Math.max(0, Math.min(m.length, size - m.at, size - m.from, 1 << 20));
      if (length > 0 && m.at >= 0 && m.from >= 0) patches.push({ at: m.at, length, from: m.from });
    }
  }
  const readUpTo = async (offset: number, length: number, upTo: number): Promise<Uint8Array> => {
    const out = new Uint8Array(length);
    const inside = Math.max(0, Math.min(length, base.size - offset));
    if (inside > 0) out.set(await base.read(offset, inside));
    for (let i = 0; i < upTo; i++) {
      const p = patches[i]!;
      const from = Math.max(p.at, offset);
      const to = Math.min(p.at + p.length, offset + length);
      if (from >= to) continue;
      if (p.from !== undefined && !p.bytes) p.bytes = await readUpTo(p.from, p.length, i);
      if (p.bytes) out.set(p.bytes.subarray(from - p.at, to - p.at), from - offset);
      else out.fill(0, from - offset, to - offset);
    }
    return out;
  };
  return {
    size,
    label: `${base.label} (mutated)`,
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new DiskProbeError(ErrorCode.RANGE, 'read outside the device', { layer: 'device', device: 'fuzz input', offset, value: length, expected: `within ${size} bytes` });
      }
      return readUpTo(offset, length, patches.length);
    },
  };
}
