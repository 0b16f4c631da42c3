import { HOT_COLUMNS, type ApiKeyStore, type StoredApiKey } from '../storage/api-key.store.js';
import { LookupCache } from './lookup-cache.js';
import { LookupCoalescer } from '../storage/batched-lookup.js';
import { LookupStats } from '../storage/lookup-stats.js';
import { thenApply, type MaybePromise } from '../storage/maybe-promise.js';

/**
 * An {@link ApiKeyStore} that keeps found rows in a {@link LookupCache} (by
 * hash) in front of another store. Misses and errors go to the inner store
 * unchanged: a database failure is still an error, never a cached answer, and
 * "not found" is never cached. A read stores its row only if no invalidation
 * happened while it was in flight. Each caller gets its own copy of the row.
 * A hit answers synchronously, so the guard does too. Every lookup counts as
 * a hit or a miss in {@link LookupStats} (two integer fields, for telemetry).
 */
export class CachedApiKeyStore implements ApiKeyStore {
  private readonly inFlight?: LookupCoalescer<string, StoredApiKey | null>;

  /**
   * @param coalesce share a miss's lookup between concurrent callers (the
   *   `coalesceLookups` option); done here rather than in the inner store so
   *   the generation ticket is taken when the shared read really starts.
   * @param stats where hits and misses are counted (the setup's, read by telemetry)
   */
  constructor(
    private readonly inner: ApiKeyStore,
    readonly cache: LookupCache<StoredApiKey>,
    coalesce = false,
    private readonly clock: () => number = Date.now,
    readonly stats: LookupStats = new LookupStats(),
  ) {
    if (coalesce) this.inFlight = new LookupCoalescer();
  }

  findByHash(hash: string): MaybePromise<StoredApiKey | null> {
    const hit = this.cache.get(hash, this.clock());
    if (hit) {
      this.stats.cacheHits++;
      return copyOf(hit);
    }
    this.stats.cacheMisses++;
    if (!this.inFlight) return this.load(hash);
    // Callers that share one read each get their own copy of its row.
    return this.inFlight.run(hash, async () => this.load(hash)).then((row) => row && copyOf(row));
  }

  markUsed(ids: readonly string[], at: Date): Promise<void> {
    return this.inner.markUsed(ids, at);
  }

  private load(hash: string): MaybePromise<StoredApiKey | null> {
    const ticket = this.cache.begin();
    return thenApply(this.inner.findByHash(hash), (row) => {
      if (row && ticket !== null) this.cache.set(hash, row.id, copyOf(row), ticket, this.clock());
      return row;
    });
  }
}

/** A copy of one column's value: dates and arrays (of strings: scopes) copied, objects (metadata) cloned. */
function copyOfValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return [...value];
  return structuredClone(value);
}

/** A copy a caller may change without touching the cached row: every hot column, copied. */
function copyOf(row: StoredApiKey): StoredApiKey {
  const copy: Record<string, unknown> = {};
  for (const column of HOT_COLUMNS) copy[column] = copyOfValue(row[column]);
  return copy as StoredApiKey;
}
