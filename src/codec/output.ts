import { ErrorCode } from '../errors.js';
import { codecError, type CodecName } from './types.js';

/**
 * The output of a whole-stream decoder whose size is not known in advance: a buffer that
 * doubles, from `initial` (at least 64 KiB), up to `limit` bytes; more is `E_LIMIT`.
 */
export class GrowingOutput {
  buf: Uint8Array;
  pos = 0;

  constructor(
    initial: number,
    private readonly limit: number,
    private readonly codec: CodecName,
  ) {
    this.buf = new Uint8Array(Math.min(limit, Math.max(64 * 1024, initial)));
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > this.limit) throw codecError(this.codec, `the stream expands to more than ${this.limit} bytes`, { field: 'decompressed size', expected: `<= ${this.limit}` }, ErrorCode.LIMIT);
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(this.limit, size));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  push(b: number): void {
    if (this.pos === this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** The bytes written. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** Parts one after another in one buffer (the parts themselves when there is one). */
export function joined(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
