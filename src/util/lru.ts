/**
 * A bounded map that forgets entries not used lately, for caches of decoded metadata.
 *
 * Entries have a weight (default 1). When the total passes the limit, entries are dropped in
 * one batch, oldest first, until a quarter of the limit is free; an entry used since the last
 * batch gets a second chance (it is moved to the back instead), as in the CLOCK algorithm.
 * Two habits of V8's Map make the obvious LRU slow, and this avoids both: deleting a key and
 * setting it again (move-to-front on every hit) costs about 5 µs when repeated on one key, and
 * `keys().next()` after many deletions walks the deleted slots (evict-one-per-insert turned a
 * 100,000-file walk quadratic: 36 % of its time in the ext reader's inode cache).
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number; used: boolean }>();
  private total = 0;

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    e.used = true;
    return e.value;
  }

  set(key: K, value: V, weight = 1): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.weight;
      this.map.delete(key);
    }
    this.map.set(key, { value, weight, used: false });
    this.total += weight;
    if (this.total > this.limit) this.evict();
  }

  private evict(): void {
    const target = (this.limit * 3) / 4;
    // Each entry is looked at most twice: once to clear its mark, once to drop it.
    let budget = this.map.size * 2;
    for (const [k, e] of this.map) {
      if (this.total <= target || this.map.size <= 1 || budget-- <= 0) break;
      this.map.delete(k);
      if (e.used) {
        e.used = false;
        this.map.set(k, e);
      } else this.total -= e.weight;
    }
  }

  /** The value cached for `key`, or `load()`'s promise, cached unless it rejects. */
  memo<T>(this: Lru<K, Promise<T>>, key: K, load: () => Promise<T>): Promise<T> {
    let p = this.get(key);
    if (!p) {
      p = load();
      this.set(key, p);
      p.catch(() => this.delete(key));
    }
    return p;
  }

  delete(key: K): void {
    const e = this.map.get(key);
    if (!e) return;
    this.total -= e.weight;
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}
