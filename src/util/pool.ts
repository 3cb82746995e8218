/**
 * Reusable scratch buffers, so that a reader's hot path allocates nothing once warm. Buffers
 * come in power-of-two capacities from `minBytes`; the pool keeps at most `maxBytes` of them
 * between uses, and a buffer larger than that is never kept.
 */
export class BufferPool {
  private readonly free = new Map<number, Uint8Array[]>();
  private kept = 0;

  constructor(
    private readonly minBytes = 64 * 1024,
    private readonly maxBytes = 8 * 1024 * 1024,
  ) {}

  /** A buffer of at least `length` bytes (its contents are whatever it last held). */
  take(length: number): Uint8Array {
    let capacity = this.minBytes;
    while (capacity < length) capacity *= 2;
    const list = this.free.get(capacity);
    const buf = list?.pop();
    if (!buf) return new Uint8Array(capacity);
    this.kept -= capacity;
    return buf;
  }

  /** Returns a buffer `take` gave; the caller must not use it afterwards. */
  give(buf: Uint8Array): void {
    if (this.kept + buf.length > this.maxBytes) return;
    let list = this.free.get(buf.length);
    if (!list) this.free.set(buf.length, (list = []));
    list.push(buf);
    this.kept += buf.length;
  }
}
