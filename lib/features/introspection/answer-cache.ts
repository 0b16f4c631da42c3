interface Entry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** How {@link AnswerCache.get} treats one settled answer. */
export interface AnswerCachePolicy<V> {
  /** Whether the answer may be kept at all (the remote verifier keeps active answers only). */
  keep: (value: V) => boolean;
  /** When the answer stops being true (a key's expiry), if sooner than the TTL. */
  expiresAt?: (value: V) => number | undefined;
}

/**
 * A small TTL cache of settled answers, bounded by entry count, in front of a
 * slow call. Concurrent callers of one key share the call in flight (held
 * apart, so calls in flight never push kept answers out); once it settles,
 * the answer is kept only if the policy says so, so answers that are not kept
 * (unknown keys) can never evict those that are. A failed call is never kept,
 * so an outage is never cached. When full, the oldest entry goes first
 * (insertion order; with one TTL for all, expired ones are oldest).
 */
export class AnswerCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V>>();
  /** Bumped by {@link clear}: a call that started before it keeps nothing. */
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Answers kept right now, expired ones included until they are swept. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The kept answer for `key`, the call in flight for it, or a new call to
   * `load` (kept for the TTL, or until `policy.expiresAt(value)` if sooner,
   * when `policy.keep(value)`).
   */
  get(key: string, load: () => Promise<V>, policy: AnswerCachePolicy<V>, now: number = Date.now()): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return Promise.resolve(hit.value);
    if (hit) this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) return pending;

    const generation = this.generation;
    const call = load();
    this.inFlight.set(key, call);
    const settled = () => {
      if (this.inFlight.get(key) === call) this.inFlight.delete(key);
    };
    call.then((value) => {
      settled();
      if (generation !== this.generation || this.ttlMs <= 0 || this.maxEntries <= 0 || !policy.keep(value)) return;
      const limit = policy.expiresAt?.(value);
      const expiresAt = Math.min(now + this.ttlMs, limit ?? Infinity);
      this.entries.delete(key);
      this.makeRoom();
      this.entries.set(key, { value, expiresAt });
    }, settled);
    return call;
  }

  /** Forgets every answer, and makes calls in flight keep nothing. */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.inFlight.clear();
  }

  /** O(1): with one TTL for all, insertion order is (nearly) expiry order, so the oldest go first. */
  private makeRoom(): void {
    while (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
