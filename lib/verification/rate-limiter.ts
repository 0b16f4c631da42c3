import { Inject, Injectable } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { asStoreUnavailable } from '../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyPrincipal } from './api-key.principal.js';
import type { RateLimit, RateLimitDecision, RateLimitStorage } from '../policies/rate-limit.js';

/**
 * Per-key rate limits on `@nestjs/throttler`'s storage, keyed by the key's id
 * (never the key). A key's own limit wins over the module default; keys with
 * neither are not counted. The in-memory storage is loaded from
 * `@nestjs/throttler` (an optional peer) the first time a limit applies.
 */
@Injectable()
export class ApiKeyRateLimiter {
  private storage?: Promise<RateLimitStorage>;

  constructor(@Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions) {
    this.storage = this.configuredStorage();
  }

  /** The storage given in the options, if any. */
  private configuredStorage(): Promise<RateLimitStorage> | undefined {
    return this.options.rateLimitStorage ? Promise.resolve(this.options.rateLimitStorage) : undefined;
  }

  /** The limit that applies to a key, or `null`. */
  limitFor(principal: ApiKeyPrincipal): RateLimit | null {
    return principal.rateLimit ?? this.options.rateLimit ?? null;
  }

  /** Counts one request; `null` when no limit applies. Refused requests are not counted. */
  async hit(principal: ApiKeyPrincipal): Promise<RateLimitDecision | null> {
    const rate = this.limitFor(principal);
    if (!rate) return null;
    let record: Awaited<ReturnType<RateLimitStorage['increment']>>;
    try {
      const storage = await (this.storage ??= loadThrottlerStorage());
      record = await storage.increment(`api-key:${principal.id}`, rate.windowMs, rate.limit, 0, 'api-key');
    } catch (cause) {
      this.storage = this.configuredStorage(); // retry loading or reaching the storage next time
      throw asStoreUnavailable(cause); // fail closed: 503, never a pass
    }
    const allowed = !record.isBlocked;
    return {
      allowed,
      limit: rate.limit,
      remaining: Math.max(0, rate.limit - record.totalHits),
      windowSeconds: Math.ceil(rate.windowMs / 1000),
      resetSeconds: Math.max(0, allowed ? record.timeToExpire : record.timeToBlockExpire),
    };
  }
}

async function loadThrottlerStorage(): Promise<RateLimitStorage> {
  try {
    const { ThrottlerStorageService } = await import('@nestjs/throttler');
    return new ThrottlerStorageService();
  } catch (cause) {
    throw new Error('per-key rate limits need @nestjs/throttler: npm install @nestjs/throttler', { cause });
  }
}
