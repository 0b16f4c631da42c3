interface Entry<V> {
  readonly value: Promise<V>;
  expiresAt: number;
}

/**
 * A small TTL cache of pending or settled answers, bounded by entry count.
 * Concurrent callers of one key share the call in flight; a failed call is
 * dropped at once, so an outage is never cached. When full, the oldest entry
 * goes first (insertion order; with one TTL for all, expired ones are oldest).
 */
export class AnswerCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Entries held right now, expired ones included until they are swept. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached answer for `key`, or the one `load` gives (then cached for the
   * TTL, or until `expiresAt(value)` if that comes first).
   */
  get(
    key: string,
    load: () => Promise<V>,
    expiresAt?: (value: V) => number | undefined,
    now: number = Date.now(),
  ): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    if (hit) this.entries.delete(key);
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return load();

    const entry: Entry<V> = { value: load(), expiresAt: now + this.ttlMs };
    this.makeRoom();
    this.entries.set(key, entry);
    entry.value.then(
      (value) => {
        const limit = expiresAt?.(value);
        if (limit !== undefined && limit < entry.expiresAt) entry.expiresAt = limit;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  /** Forgets every answer. */
  clear(): void {
    this.entries.clear();
  }

  /** O(1): with one TTL for all, insertion order is (nearly) expiry order, so the oldest go first. */
  private makeRoom(): void {
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
