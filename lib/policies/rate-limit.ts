import { ApiKeyValidationError } from '../api-key.errors.js';

/** A limit of requests per window. */
export interface RateLimit {
  /** Requests allowed per window. */
  readonly limit: number;
  /** Window length in ms (a sliding window of hits). */
  readonly windowMs: number;
}

/**
 * The shape of `@nestjs/throttler`'s `ThrottlerStorage`, so its in-memory
 * `ThrottlerStorageService` or a Redis storage (e.g.
 * `@nest-lab/throttler-storage-redis`, for several instances) plugs in as is.
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

/** The outcome of counting one request against its key's limit. */
export interface RateLimitDecision {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  readonly windowSeconds: number;
  /** Seconds until the window frees a request. */
  readonly resetSeconds: number;
}

/** Checks a rate limit given to `issue`: absent/null, or whole positive numbers. */
export function validateRateLimit(rateLimit: unknown): RateLimit | null {
  if (rateLimit === undefined || rateLimit === null) return null;
  const { limit, windowMs } = rateLimit as Partial<RateLimit>;
  const whole = (n: unknown, max: number) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= max;
  if (typeof rateLimit !== 'object' || !whole(limit, 1_000_000_000) || !whole(windowMs, 86_400_000)) {
    throw new ApiKeyValidationError(
      'rateLimit must be { limit: whole number >= 1, windowMs: whole number of ms from 1 to 86400000 }',
    );
  }
  return { limit: limit as number, windowMs: windowMs as number };
}
