import { Inject, Injectable, Logger, Optional, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { ApiKeyValidationError, asStoreUnavailable } from '../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyPrincipal } from './api-key.principal.js';
import { decideRateLimit, tighterDecision, type RateLimit, type RateLimitDecision } from '../policies/rate-limit.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import {
  createRateLimitCounter,
  loadRateLimiterFlexible,
  type RateLimitCounter,
  requireRateLimiterFlexible,
  ThrottlerStorageCounter,
} from './rate-limit-counters.js';

/** One limit to count a request against: its counter key (never the API key) and its rate. */
interface Charge {
  readonly key: string;
  readonly rate: RateLimit;
}

/**
 * Rate limits per rotation family (`familyId`, so rotating a key, with or
 * without grace, neither resets nor multiplies its budget) and, with
 * `ownerRateLimit`, per owner (so issuing more keys does not either). A
 * family's own limit wins over the module default; keys with neither are not
 * counted. Counted in fixed windows, one counter per family / owner, with
 * `rate-limiter-flexible` (memory, Redis or the key database), or in a host's
 * `@nestjs/throttler` storage (`rateLimitStorage`).
 *
 * The backend is built at boot: when a limit is configured and the package is
 * missing, the app fails to start with the install command.
 */
@Injectable()
export class ApiKeyRateLimiter implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyRateLimiter');
  private counter?: RateLimitCounter;
  /** Why there is no counter (the package is missing and no limit was configured at boot). */
  private unavailable?: Error;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    /** The key database, for the `database` backend (absent in `ApiKeyRemoteModule`). */
    @Optional() private readonly db?: ApiKeyDatabase,
  ) {}

  /** Loads `rate-limiter-flexible` (the optional peer); a test may stand in a module that is not there. */
  protected loadModule(): Promise<unknown> {
    return loadRateLimiterFlexible();
  }

  /** Builds the counter; fails the boot when a configured limit has no backend. */
  async onModuleInit(): Promise<void> {
    const { rateLimitStorage, rateLimitBackend, rateLimit, ownerRateLimit } = this.options;
    if (rateLimitStorage) {
      this.counter = new ThrottlerStorageCounter(rateLimitStorage);
      return;
    }
    const configured = Boolean(rateLimit || ownerRateLimit || rateLimitBackend !== 'memory');
    try {
      const rlf = await requireRateLimiterFlexible(() => this.loadModule());
      this.counter = await createRateLimitCounter(rateLimitBackend, rlf, this.db?.dataSource);
    } catch (error) {
      if (configured) throw error; // a configured limit with no backend: fail at boot, never per request
      // Only keys issued with their own limit need it; they get 503 (fail closed) and this log line.
      this.unavailable = error as Error;
      this.logger.warn(`keys with a rate limit will get 503: ${(error as Error).message}`);
    }
  }

  onModuleDestroy(): void {
    this.counter?.close?.();
  }

  /** The limit that applies to a key's family, or `null`. */
  limitFor(principal: ApiKeyPrincipal): RateLimit | null {
    return principal.rateLimit ?? this.options.rateLimit ?? null;
  }

  /** Whether a request with this key is counted at all (its family's or its owner's limit). */
  applies(principal: ApiKeyPrincipal): boolean {
    return this.charges(principal).length > 0;
  }

  /**
   * Counts one request against its family's limit and its owner's; `null`
   * when no limit applies. The decision returned is the tighter one. A
   * request refused by one limit gives its hit back to the other, so a
   * hammering key does not spend its owner's budget, nor an owner's other
   * keys this key's. Call only for a request that passed authentication and
   * scopes: refused requests are not counted.
   * @throws ApiKeyStoreUnavailableError when the backend fails: fail closed, 503, never a pass.
   */
  async hit(principal: ApiKeyPrincipal): Promise<RateLimitDecision | null> {
    const charges = this.charges(principal);
    if (charges.length === 0) return null;
    try {
      const counter = this.counter;
      if (!counter) throw this.unavailable ?? new Error('the rate limiter is not initialised');
      const counts = await Promise.all(charges.map(({ key, rate }) => counter.hit(key, rate)));
      const decisions = counts.map((count, i) => decideRateLimit(charges[i].rate, count));
      if (decisions.some((decision) => !decision.allowed)) {
        await Promise.all(
          decisions.map((decision, i) => (decision.allowed ? counter.giveBack(charges[i].key, charges[i].rate) : null)),
        );
      }
      return decisions.reduce(tighterDecision);
    } catch (cause) {
      throw asStoreUnavailable(cause); // fail closed: 503, never a pass
    }
  }

  /**
   * Refuses to give a key a rate limit this app cannot count (the package is missing): such a key could
   * only ever get 503. Called by `issue` and `update` when they set a rate limit.
   * @throws ApiKeyValidationError naming the install command
   */
  assertCanCount(): void {
    if (this.unavailable)
      throw new ApiKeyValidationError(
        `this app cannot count rate limits, so a key with one would only get 503: ${this.unavailable.message}`,
      );
  }

  /** The limits a request with this key is counted against. */
  private charges(principal: ApiKeyPrincipal): Charge[] {
    const charges: Charge[] = [];
    const rate = this.limitFor(principal);
    if (rate) charges.push({ key: `family:${principal.familyId}`, rate });
    const owner = this.options.ownerRateLimit;
    if (owner && principal.ownerId !== null) charges.push({ key: `owner:${principal.ownerId}`, rate: owner });
    return charges;
  }
}
