import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ApiKeyInvalidationBus } from './invalidation-bus.js';

/**
 * How cached rows are invalidated on other instances:
 * - `'auto'` (default): PostgreSQL LISTEN/NOTIFY on a PostgreSQL DataSource, else `'local'`;
 * - `'postgres'`: LISTEN/NOTIFY (the DataSource must be PostgreSQL);
 * - `'local'`: this instance only; other instances see a change when their entry expires (`ttlMs`);
 * - a bus, e.g. {@link redisInvalidationBus}.
 */
export type ApiKeyCacheInvalidation = 'auto' | 'postgres' | 'local' | ApiKeyInvalidationBus;

/** The `cache` module option: an in-process cache of key lookups. Absent: every request reads the database. */
export interface ApiKeyCacheOptions {
  /** How long a row read from the database is served, in ms. Default 5000. */
  ttlMs?: number;
  /** Most rows kept (least recently used evicted first). Default 10000. */
  maxEntries?: number;
  /** How other instances learn of changes. Default `'auto'`. */
  invalidation?: ApiKeyCacheInvalidation;
  /**
   * How often the bus's listening connection is probed (PostgreSQL `SELECT 1`,
   * Redis `PING`), in ms from one answer to the next probe. Default 5000.
   * A connection that stops answering (a proxy or load balancer that dropped
   * it without closing it, a partition) suspends the cache within
   * `heartbeatIntervalMs + heartbeatTimeoutMs`: that, not `ttlMs`, is the
   * longest a missed invalidation can leave a row served.
   */
  heartbeatIntervalMs?: number;
  /** How long a heartbeat probe may take before the connection counts as silent, in ms. Default 2000. */
  heartbeatTimeoutMs?: number;
}

/** {@link ApiKeyCacheOptions} with defaults applied and values checked. */
export interface ResolvedApiKeyCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly invalidation: ApiKeyCacheInvalidation;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
}

/** Default time to live of a cached row, in ms. */
export const DEFAULT_CACHE_TTL_MS = 5000;
/** Default bound of the cache, in rows. */
export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;
/** Default time from one answered heartbeat of the invalidation listener to the next, in ms. */
export const DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS = 5000;
/** Default time a heartbeat of the invalidation listener may take, in ms. */
export const DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS = 2000;

/** Checks the `cache` option and applies its defaults. @throws ApiKeyConfigurationError naming the option (`cache.ttlMs`) */
export function resolveCacheOptions(raw: ApiKeyCacheOptions | undefined): ResolvedApiKeyCacheOptions | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ApiKeyConfigurationError(
      'cache must be an object, e.g. { ttlMs: 5000 }, or left out for no cache',
      'cache',
    );
  }
  const ttlMs = raw.ttlMs ?? DEFAULT_CACHE_TTL_MS;
  const maxEntries = raw.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
  const invalidation = raw.invalidation ?? 'auto';
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new ApiKeyConfigurationError('cache.ttlMs must be a positive number of ms', 'cache.ttlMs');
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new ApiKeyConfigurationError('cache.maxEntries must be a positive integer', 'cache.maxEntries');
  const heartbeatIntervalMs = raw.heartbeatIntervalMs ?? DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS;
  const heartbeatTimeoutMs = raw.heartbeatTimeoutMs ?? DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS;
  if (!isDelay(heartbeatIntervalMs))
    throw new ApiKeyConfigurationError(
      'cache.heartbeatIntervalMs must be a positive integer number of ms (at most 2^31-1), e.g. 5000',
      'cache.heartbeatIntervalMs',
    );
  if (!isDelay(heartbeatTimeoutMs))
    throw new ApiKeyConfigurationError(
      'cache.heartbeatTimeoutMs must be a positive integer number of ms (at most 2^31-1), e.g. 2000',
      'cache.heartbeatTimeoutMs',
    );
  const isBus =
    typeof invalidation === 'object' &&
    invalidation !== null &&
    typeof invalidation.publish === 'function' &&
    typeof invalidation.subscribe === 'function' &&
    typeof invalidation.close === 'function' &&
    (invalidation.delivery === 'transaction' || invalidation.delivery === 'after-commit');
  if (!isBus && invalidation !== 'auto' && invalidation !== 'postgres' && invalidation !== 'local') {
    throw new ApiKeyConfigurationError(
      "cache.invalidation must be 'auto', 'postgres', 'local' or an ApiKeyInvalidationBus (e.g. redisInvalidationBus(...))",
      'cache.invalidation',
    );
  }
  return { ttlMs, maxEntries, invalidation, heartbeatIntervalMs, heartbeatTimeoutMs };
}

/** A delay `setTimeout` keeps as given: an integer from 1 to 2^31-1 ms (larger ones fire at once). */
function isDelay(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 2 ** 31 - 1;
}
