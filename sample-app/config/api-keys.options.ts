import { keyEventLogger } from '../keys/key-event.logger.js';
import type { ApiKeyModuleExtras, ApiKeyModuleOptions, RateLimitStorage } from 'nestjs-opaque-keys';
import { withAlerts, type ApiKeyAlertOptions } from 'nestjs-opaque-keys/alerts';
import { withEvents } from 'nestjs-opaque-keys/events';
import { withOwnerPolicies } from 'nestjs-opaque-keys/owner-policies';
import { withLastAddress } from 'nestjs-opaque-keys/last-address';
import { withUsage } from 'nestjs-opaque-keys/usage';

/** One day in ms. */
export const DAY_MS = 86_400_000;

/** The environments marked in key prefixes: `sk_live_...` keys see live data, `sk_test_...` keys a sandbox. */
export const KEY_ENVIRONMENTS = ['live', 'test'];

/** The environment whose keys get sandbox data instead of live data. */
export const SANDBOX_ENVIRONMENT = 'test';

/**
 * The sample's key policy:
 * - keys are `sk_live_...` (the default) or `sk_test_...`;
 * - keys issued without `expiresAt` expire after 90 days, and no key may live longer than 365 days;
 * - every key is held to 600 requests a minute unless it was issued with its own `rateLimit`.
 */
export const API_KEY_POLICY = {
  prefix: 'sk',
  environments: KEY_ENVIRONMENTS,
  defaultLifetimeMs: 90 * DAY_MS,
  maxLifetimeMs: 365 * DAY_MS,
  rateLimit: { limit: 600, windowMs: 60_000 },
} satisfies ApiKeyModuleOptions;

/**
 * The sample's threshold alerts (docs/alerts.md), logged by the key event logger: fewer than 10 uses left on a
 * metered key, a refilling balance under 10% of its refill, more than 100 rate-limit refusals of one key in a
 * minute, more than 20 refused requests of one known key (revoked, disabled, out of scope) in a minute.
 */
export const SAMPLE_ALERTS = {
  uses: { below: 10 },
  credits: { belowShare: 0.1 },
  rateLimited: { moreThan: 100, windowMs: 60_000 },
  refusals: { moreThan: 20, windowMs: 60_000 },
} satisfies ApiKeyAlertOptions;

/**
 * The `ApiKeyModule` options. Rate-limit hits are counted in `rateLimitStorage`
 * when one is given (a host's @nestjs/throttler storage, or a test double);
 * without one, in memory with rate-limiter-flexible, per rotation family.
 */
export function apiKeyOptions(rateLimitStorage?: RateLimitStorage): ApiKeyModuleOptions & ApiKeyModuleExtras {
  return {
    ...API_KEY_POLICY,
    environments: [...KEY_ENVIRONMENTS],
    ...(rateLimitStorage ? { rateLimitStorage } : {}),
    // Lifecycle events and threshold alerts are logged; per-key usage is counted (GET /keys/:id/usage); where each
    // key was last used from is kept as its network only, a /24 or /48 (GET /keys/:id/last-address); owner policies
    // are edited in the console (/admin, "Policies"), and apply to existing keys at once.
    features: [
      withEvents({ listeners: [keyEventLogger] }),
      withUsage(),
      withAlerts(SAMPLE_ALERTS),
      withOwnerPolicies(),
      withLastAddress({ truncate: true }),
    ],
  };
}
