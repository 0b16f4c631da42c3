import { describe, expect, it } from '@jest/globals';
import { ApiKeyConfigurationError } from 'nestjs-opaque-keys';
import type { ApiKeyStore, StoredApiKey } from '../../lib/storage/index.js';
import { CachedApiKeyStore } from '../../lib/cache/index.js';
import { dispatchInvalidation, encodeInvalidation, invalidationChannel } from '../../lib/cache/index.js';
import { LookupCache } from '../../lib/cache/index.js';
import { resolveCacheOptions } from '../../lib/cache/index.js';
import { LookupStats } from '../../lib/storage/index.js';

/** A promise with its settle functions exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function row(id: string, hash = `hash-${id}`, scopes = ['orders:read']): StoredApiKey {
  return {
    id,
    hash,
    name: id,
    ownerId: null,
    scopes,
    metadata: { plan: 'pro' },
    expiresAt: null,
    revokedAt: null,
    remainingUses: null,
    rateLimitMax: null,
    rateLimitWindowMs: null,
    familyId: null,
    replacedById: null,
    refillAmount: null,
    refillIntervalMs: null,
    refilledAtMs: null,
    disabledAt: null,
    allowedIps: null,
  };
}

/** An inner store whose lookups the test settles by hand. */
class ManualStore implements ApiKeyStore {
  readonly lookups: { hash: string; settle: ReturnType<typeof deferred<StoredApiKey | null>> }[] = [];
  findByHash(hash: string): Promise<StoredApiKey | null> {
    const settle = deferred<StoredApiKey | null>();
    this.lookups.push({ hash, settle });
    return settle.promise;
  }
  async markUsed(): Promise<void> {}
}

describe('LookupCache', () => {
  it('serves an entry until its TTL, then drops it', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10 });
    expect(cache.set('h', 'id', 'row', cache.begin(), 0)).toBe(true);
    expect(cache.get('h', 999)).toBe('row');
    expect(cache.get('h', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, evicting the least recently used', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) cache.set(k, `id-${k}`, k, cache.begin(), 0);
    expect(cache.get('a', 1)).toBe('a'); // a is now the most recent
    cache.set('d', 'id-d', 'd', cache.begin(), 1);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 2)).toBeUndefined();
    expect(['a', 'c', 'd'].map((k) => cache.get(k, 2))).toEqual(['a', 'c', 'd']);
    // Its id index went with it: invalidating b's id touches nothing else.
    cache.invalidate(['id-b']);
    expect(cache.size).toBe(3);
  });

  it('invalidates by id', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10 });
    cache.set('h1', 'id1', 'one', cache.begin(), 0);
    cache.set('h2', 'id2', 'two', cache.begin(), 0);
    cache.invalidate(['id1', 'unknown-id']);
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(cache.get('h2', 1)).toBe('two');
  });

  it('drops a read that was in flight across an invalidation (generation race)', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10 });
    const ticket = cache.begin(); // the read starts: it will see the old row
    cache.invalidate(['id1']); // the change commits while the read is in flight
    expect(cache.set('h1', 'id1', 'old row', ticket, 1)).toBe(false);
    expect(cache.get('h1', 2)).toBeUndefined();
    // A read that starts after the change stores.
    expect(cache.set('h1', 'id1', 'new row', cache.begin(), 3)).toBe(true);
  });

  it('serves and stores nothing while suspended, and drops reads begun before a reset', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10, startDisabled: true });
    expect(cache.begin()).toBeNull();
    expect(cache.set('h', 'id', 'row', null, 0)).toBe(false);
    cache.reset();
    const ticket = cache.begin();
    cache.set('h', 'id', 'row', ticket, 0);
    const before = cache.begin();
    cache.suspend();
    expect(cache.active).toBe(false);
    expect(cache.get('h', 1)).toBeUndefined();
    cache.reset();
    expect(cache.set('h', 'id', 'row', before, 2)).toBe(false);
  });

  it('clear() empties without enabling a suspended cache', () => {
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10, startDisabled: true });
    cache.clear();
    expect(cache.active).toBe(false);
  });
});

describe('CachedApiKeyStore', () => {
  it('reads once, then answers from the cache with a copy the caller may change', async () => {
    const inner = new ManualStore();
    const store = new CachedApiKeyStore(inner, new LookupCache({ ttlMs: 1000, maxEntries: 10 }), false, () => 0);
    const first = store.findByHash('hash-a');
    inner.lookups[0]!.settle.resolve(row('a'));
    const found = (await first)!;
    found.scopes.push('*');
    (found.metadata as Record<string, unknown>).plan = 'hacked';
    const again = (await store.findByHash('hash-a'))!;
    expect(inner.lookups).toHaveLength(1);
    expect(again.scopes).toEqual(['orders:read']);
    expect(again.metadata).toEqual({ plan: 'pro' });
    expect(again).not.toBe(found);
  });

  it('never caches "not found": a flood of unknown keys costs a read each and evicts nothing', async () => {
    const inner = new ManualStore();
    const cache = new LookupCache<StoredApiKey>({ ttlMs: 1000, maxEntries: 2 });
    const store = new CachedApiKeyStore(inner, cache, false, () => 0);
    const good = store.findByHash('hash-a');
    inner.lookups[0]!.settle.resolve(row('a'));
    await good;
    for (let i = 0; i < 20; i++) {
      const miss = store.findByHash(`random-${i}`);
      inner.lookups.at(-1)!.settle.resolve(null);
      expect(await miss).toBeNull();
    }
    expect(cache.size).toBe(1);
    await store.findByHash('hash-a');
    expect(inner.lookups).toHaveLength(21);
  });

  it('does not store a row read before an invalidation that landed while it was in flight', async () => {
    const inner = new ManualStore();
    const cache = new LookupCache<StoredApiKey>({ ttlMs: 1000, maxEntries: 10 });
    const store = new CachedApiKeyStore(inner, cache, false, () => 0);
    const stale = store.findByHash('hash-a');
    cache.invalidate(['a']); // the revocation commits; the read above still carries the old row
    inner.lookups[0]!.settle.resolve(row('a'));
    expect((await stale)!.revokedAt).toBeNull(); // that caller sees what it read...
    const next = store.findByHash('hash-a'); // ...but the next one reads again
    expect(inner.lookups).toHaveLength(2);
    inner.lookups[1]!.settle.resolve({ ...row('a'), revokedAt: new Date(0) });
    expect((await next)!.revokedAt).toEqual(new Date(0));
  });

  it('with coalescing, the ticket is taken when the shared read starts, not when a caller joins', async () => {
    const inner = new ManualStore();
    const cache = new LookupCache<StoredApiKey>({ ttlMs: 1000, maxEntries: 10 });
    const store = new CachedApiKeyStore(inner, cache, true, () => 0);
    const first = store.findByHash('hash-a');
    cache.invalidate(['a']);
    const joined = store.findByHash('hash-a'); // joins the read sent before the invalidation
    expect(inner.lookups).toHaveLength(1);
    inner.lookups[0]!.settle.resolve(row('a'));
    const [x, y] = await Promise.all([first, joined]);
    expect(x).not.toBe(y);
    expect(cache.size).toBe(0);
  });

  it('counts each lookup as a hit or a miss: not held, not found, failed and suspended are misses', async () => {
    const inner = new ManualStore();
    const cache = new LookupCache<StoredApiKey>({ ttlMs: 1000, maxEntries: 10 });
    const stats = new LookupStats();
    const store = new CachedApiKeyStore(inner, cache, false, () => 0, stats);
    const first = store.findByHash('hash-a');
    inner.lookups[0]!.settle.resolve(row('a'));
    await first;
    await store.findByHash('hash-a');
    await store.findByHash('hash-a');
    const unknown = store.findByHash('hash-x');
    inner.lookups[1]!.settle.resolve(null);
    await unknown;
    const failing = store.findByHash('hash-y');
    inner.lookups[2]!.settle.reject(new Error('database down'));
    await expect(failing).rejects.toThrow('database down');
    cache.suspend();
    const suspended = store.findByHash('hash-a');
    inner.lookups[3]!.settle.resolve(row('a'));
    await suspended;
    expect([stats.cacheHits, stats.cacheMisses]).toEqual([2, 4]);
  });

  it('passes errors through and caches nothing (fail closed)', async () => {
    const inner = new ManualStore();
    const cache = new LookupCache<StoredApiKey>({ ttlMs: 1000, maxEntries: 10 });
    const store = new CachedApiKeyStore(inner, cache, false, () => 0);
    const failing = store.findByHash('hash-a');
    inner.lookups[0]!.settle.reject(new Error('database down'));
    await expect(failing).rejects.toThrow('database down');
    expect(cache.size).toBe(0);
  });
});

describe('invalidation messages and options', () => {
  const handlers = () => {
    const calls: string[] = [];
    return {
      calls,
      invalidate: (ids: readonly string[]) => void calls.push(`ids:${ids.join(',')}`),
      invalidateAll: () => void calls.push('all'),
      reset: () => void calls.push('reset'),
      suspend: () => void calls.push('suspend'),
      warn: (message: string) => void calls.push(`warn:${message}`),
    };
  };

  it('round-trips ids and "all"; anything unreadable drops everything', () => {
    const h = handlers();
    dispatchInvalidation(encodeInvalidation({ ids: ['a', 'b'] }), h);
    dispatchInvalidation(encodeInvalidation({ all: true }), h);
    dispatchInvalidation('not json', h);
    dispatchInvalidation('{"ids":[1]}', h);
    expect(h.calls).toEqual(['ids:a,b', 'all', 'all', 'all']);
  });

  it('derives a short channel per qualified table', () => {
    const a = invalidationChannel('api_keys', 'db/schema_a.api_keys');
    expect(a).toMatch(/^api_keys_cache_[0-9a-f]{12}$/);
    expect(a).not.toBe(invalidationChannel('api_keys', 'db/schema_b.api_keys'));
    expect(invalidationChannel('x'.repeat(200), 'q').length).toBeLessThanOrEqual(63);
  });

  it('validates the cache option with configuration errors naming the option, and applies defaults', () => {
    expect(resolveCacheOptions(undefined)).toBeUndefined();
    expect(resolveCacheOptions({})).toEqual({
      ttlMs: 5000,
      maxEntries: 10_000,
      invalidation: 'auto',
      heartbeatIntervalMs: 5000,
      heartbeatTimeoutMs: 2000,
    });
    expect(resolveCacheOptions({ heartbeatIntervalMs: 250, heartbeatTimeoutMs: 100 })).toMatchObject({
      heartbeatIntervalMs: 250,
      heartbeatTimeoutMs: 100,
    });
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31, '5000' as never]) {
      expect(() => resolveCacheOptions({ heartbeatIntervalMs: bad })).toThrow(/cache.heartbeatIntervalMs must be/);
      expect(() => resolveCacheOptions({ heartbeatTimeoutMs: bad })).toThrow(/cache.heartbeatTimeoutMs must be/);
    }
    expect(() => resolveCacheOptions({ ttlMs: 0 })).toThrow(ApiKeyConfigurationError);
    expect(() => resolveCacheOptions({ maxEntries: 1.5 })).toThrow('cache.maxEntries must be a positive integer');
    expect(() => resolveCacheOptions({ invalidation: 'redis' as never })).toThrow(/cache.invalidation must be/);
    expect(() => resolveCacheOptions(true as never)).toThrow(ApiKeyConfigurationError);
  });
});
