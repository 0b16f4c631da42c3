import { ApiKeyValidationError } from '../api-key.errors.js';

/** A limit of requests per window. */
export interface RateLimit {
  /** Requests allowed per window. */
  readonly limit: number;
  /** Window length in ms (a fixed window: the count starts again when it ends). */
  readonly windowMs: number;
}

/**
 * The shape of `@nestjs/throttler`'s `ThrottlerStorage`, so its in-memory
 * `ThrottlerStorageService` or a Redis storage (e.g.
 * `@nest-lab/throttler-storage-redis`) plugs in as is. Such storages keep one
 * timestamp per hit: their cost grows with the hits in the window (see
 * docs/rate-limits.md); the default counter does not.
 */
export interface RateLimitStorage {
  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<{ totalHits: number; timeToExpire: number; isBlocked: boolean; timeToBlockExpire: number }>;
}

/** The count of one window after a hit, as a counter reports it. */
export interface RateLimitCount {
  /** Hits in the current window, this one included. */
  readonly hits: number;
  /** Ms until the window ends and the count starts again. */
  readonly msBeforeReset: number;
}

/** The outcome of counting one request against a limit. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly windowSeconds: number;
  /** Seconds until the window frees a request. */
  readonly resetSeconds: number;
}

/** The decision for a window's count against its limit: allowed while the hits stay within the limit. */
export function decideRateLimit(rate: RateLimit, count: RateLimitCount): RateLimitDecision {
  return {
    allowed: count.hits <= rate.limit,
    limit: rate.limit,
    remaining: Math.max(0, rate.limit - count.hits),
    windowSeconds: Math.ceil(rate.windowMs / 1000),
    resetSeconds: Math.max(0, Math.ceil(count.msBeforeReset / 1000)),
  };
}

/**
 * The decision a client should be told about when two limits apply (the key's
 * family and its owner): a refusal before a pass, then the fewer requests
 * remaining, then the later reset.
 */
export function tighterDecision(a: RateLimitDecision, b: RateLimitDecision): RateLimitDecision {
  if (a.allowed !== b.allowed) return a.allowed ? b : a;
  if (!a.allowed) return a.resetSeconds >= b.resetSeconds ? a : b;
  if (a.remaining !== b.remaining) return a.remaining < b.remaining ? a : b;
  return a.resetSeconds >= b.resetSeconds ? a : b;
}

/**
 * What is wrong with a rate limit (absent/null is right): the whole value
 * (`''`, not an object), its `limit` or its `windowMs`; `undefined` when nothing is.
 */
export function rateLimitFault(rateLimit: unknown): '' | 'limit' | 'windowMs' | undefined {
  if (rateLimit === undefined || rateLimit === null) return undefined;
  if (typeof rateLimit !== 'object') return '';
  const { limit, windowMs } = rateLimit as Partial<RateLimit>;
  const whole = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (!whole(limit, 1_000_000_000)) return 'limit';
  return whole(windowMs, 86_400_000) ? undefined : 'windowMs';
}

/** Checks a rate limit given to `issue`: absent/null, or whole positive numbers. */
export function validateRateLimit(rateLimit: unknown): RateLimit | null {
  if (rateLimit === undefined || rateLimit === null) return null;
  const { limit, windowMs } = rateLimit as Partial<RateLimit>;
  if (rateLimitFault(rateLimit) !== undefined) {
    throw new ApiKeyValidationError(
      'rateLimit must be { limit: whole number >= 1, windowMs: whole number of ms from 1 to 86400000 }',
    );
  }
  return { limit: limit as number, windowMs: windowMs as number };
}

/**
 * Where rate-limit hits are counted (one counter per rotation family and per
 * owner, constant memory and time per hit):
 * - `'memory'` (default): in this process; each instance counts on its own.
 * - `{ redis: client }`: the host's ioredis client, shared by every instance.
 * - `'database'`: the key database (PostgreSQL, MySQL / MariaDB, better-sqlite3)
 *   through the DataSource's pool, in the table `api_key_rate_limits`
 *   (created at boot if missing): shared, at one write per limited request.
 */
export type RateLimitBackend = 'memory' | 'database' | { readonly redis: unknown };
