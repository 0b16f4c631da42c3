/** A cache slot: the value, the id it is invalidated by, and when it stops being served. */
interface Entry<V> {
  readonly value: V;
  readonly id: string;
  readonly expiresAt: number;
}

/** Options of {@link LookupCache}. */
export interface LookupCacheOptions {
  /** How long an entry is served after it was read, in ms. */
  ttlMs: number;
  /** Most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** Start disabled (nothing stored, nothing served) until {@link LookupCache.reset}. Default `false`. */
  startDisabled?: boolean;
}

/**
 * A bounded, expiring map from a lookup key (a key's hash) to a found value,
 * invalidated by the value's id. Pure: no I/O, the clock is passed in.
 *
 * Races: every invalidation bumps a generation counter. A reader takes a
 * ticket ({@link begin}) before it reads the database and stores its result
 * with that ticket ({@link set}); the store is dropped if any invalidation
 * (or reset, or suspension) happened in between, because the row it read may
 * predate the change. While disabled, {@link begin} gives no ticket at all.
 *
 * Only found values go in: callers never cache "not found", so a flood of
 * unknown keys cannot evict good entries or grow memory.
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly keyOfId = new Map<string, string>();
  private generation = 0;
  private enabled: boolean;

  constructor(private readonly options: LookupCacheOptions) {
    this.enabled = !options.startDisabled;
  }

  /** The live entry for `key`, or `undefined`; an expired entry is dropped. A hit becomes the most recently used. */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(key, entry);
      return undefined;
    }
    // Map order is insertion order: re-inserting makes it the most recent.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** A ticket for a read about to start, or `null` while the cache is disabled. */
  begin(): number | null {
    return this.enabled ? this.generation : null;
  }

  /** Stores what a read found, unless the cache was invalidated since its {@link begin}. True when stored. */
  set(key: string, id: string, value: V, ticket: number | null, now: number): boolean {
    if (ticket === null || ticket !== this.generation || !this.enabled) return false;
    const previous = this.entries.get(key);
    if (previous) this.remove(key, previous);
    const otherKey = this.keyOfId.get(id);
    if (otherKey !== undefined) this.remove(otherKey, this.entries.get(otherKey));
    this.entries.set(key, { value, id, expiresAt: now + this.options.ttlMs });
    this.keyOfId.set(id, key);
    while (this.entries.size > this.options.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry<V>];
      this.remove(oldestKey, oldest);
    }
    return true;
  }

  /** Drops the entries of these ids, and makes reads in flight not store. */
  invalidate(ids: Iterable<string>): void {
    this.generation++;
    for (const id of ids) {
      const key = this.keyOfId.get(id);
      if (key !== undefined) this.remove(key, this.entries.get(key));
    }
  }

  /** Drops every entry (and makes reads in flight not store); enabled or not stays as it is. */
  clear(): void {
    this.generation++;
    this.clearEntries();
  }

  /** Drops every entry and enables the cache. */
  reset(): void {
    this.generation++;
    this.clearEntries();
    this.enabled = true;
  }

  /** Drops every entry and disables the cache (nothing served or stored) until {@link reset}. */
  suspend(): void {
    this.generation++;
    this.clearEntries();
    this.enabled = false;
  }

  /** Whether entries are served and stored. */
  get active(): boolean {
    return this.enabled;
  }

  /** How many entries are held. */
  get size(): number {
    return this.entries.size;
  }

  private clearEntries(): void {
    this.entries.clear();
    this.keyOfId.clear();
  }

  private remove(key: string, entry: Entry<V> | undefined): void {
    this.entries.delete(key);
    if (entry && this.keyOfId.get(entry.id) === key) this.keyOfId.delete(entry.id);
  }
}
