import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit, RateLimitCount, RateLimitStorage } from '../policies/rate-limit.js';

/**
 * Counts hits per counter key in fixed windows. Every implementation keeps
 * one counter per key, whatever the number of hits, except the
 * `@nestjs/throttler` adapter, whose storage decides.
 */
export interface RateLimitCounter {
  /** Adds one hit to `key` in its current window of `rate.windowMs` and returns the window's count. */
  hit(key: string, rate: RateLimit): Promise<RateLimitCount>;
  /** Takes one hit back (a request another limit refused), where the backend can. */
  giveBack(key: string, rate: RateLimit): Promise<void>;
  /** Stops the backend's timers (the SQL stores' hourly clean-up of expired counters). */
  close?(): void;
}

/**
 * Above any limit `validateRateLimit` accepts: the limiter itself never
 * refuses, the decision is taken against the limit of the key's row, so one
 * limiter serves every limit and window.
 */
const NEVER_REFUSE = 2_000_000_000;

/**
 * A counter on a `rate-limiter-flexible` limiter (memory, Redis, PostgreSQL,
 * MySQL, SQLite): one atomic increment per hit, one counter per key with the
 * window as its expiry.
 */
export class FlexibleRateLimitCounter implements RateLimitCounter {
  /**
   * @param limiter a limiter built with `points` above every limit (see {@link flexibleLimiterOptions}).
   * @param wholeSeconds the backend expires counters in whole seconds (Redis, SQL): windows are rounded up.
   */
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly wholeSeconds: boolean,
  ) {}

  async hit(key: string, rate: RateLimit): Promise<RateLimitCount> {
    let res: RateLimiterRes;
    try {
      res = await this.limiter.consume(key, 1, { customDuration: this.durationOf(rate) });
    } catch (rejection) {
      // A limiter rejects with its result when over its points (not ours, but a
      // host-built limiter may have fewer); any other rejection is a failure.
      if (!isLimiterResult(rejection)) throw rejection;
      res = rejection;
    }
    return { hits: res.consumedPoints, msBeforeReset: Math.max(0, res.msBeforeNext) };
  }

  async giveBack(key: string, rate: RateLimit): Promise<void> {
    await this.limiter.reward(key, 1, { customDuration: this.durationOf(rate) });
  }

  close(): void {
    clearTimeout((this.limiter as unknown as { _clearExpiredTimeoutId?: NodeJS.Timeout })._clearExpiredTimeoutId);
  }

  private durationOf(rate: RateLimit): number {
    return this.wholeSeconds ? Math.ceil(rate.windowMs / 1000) : rate.windowMs / 1000;
  }
}

/** The options every limiter this library builds shares. */
export function flexibleLimiterOptions(): { keyPrefix: string; points: number; duration: number } {
  return { keyPrefix: 'api-key', points: NEVER_REFUSE, duration: 60 };
}

function isLimiterResult(value: unknown): value is RateLimiterRes {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as RateLimiterRes).consumedPoints === 'number' &&
    typeof (value as RateLimiterRes).msBeforeNext === 'number'
  );
}

/**
 * An adapter for a host's `@nestjs/throttler` storage (`rateLimitStorage`).
 * Its in-memory storage keeps one timestamp per hit, so its cost and memory
 * grow with the hits in the window; it cannot take a hit back.
 */
export class ThrottlerStorageCounter implements RateLimitCounter {
  constructor(private readonly storage: RateLimitStorage) {}

  async hit(key: string, rate: RateLimit): Promise<RateLimitCount> {
    const record = await this.storage.increment(`api-key:${key}`, rate.windowMs, rate.limit, 0, 'api-key');
    const hits = record.isBlocked ? Math.max(record.totalHits, rate.limit + 1) : record.totalHits;
    const seconds = record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
    return { hits, msBeforeReset: Math.max(0, seconds) * 1000 };
  }

  async giveBack(): Promise<void> {
    // ThrottlerStorage has no decrement: the hit stays counted (the safe side).
  }
}
