import { keyEventLogger } from '../keys/key-event.logger.js';
import type { ApiKeyModuleExtras, ApiKeyModuleOptions, RateLimitStorage } from 'nestjs-opaque-keys';
import { withEvents } from 'nestjs-opaque-keys/events';
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
 * The `ApiKeyModule` options. Rate-limit hits are counted in `rateLimitStorage`
 * when one is given (a host's @nestjs/throttler storage, or a test double);
 * without one, in memory with rate-limiter-flexible, per rotation family.
 */
export function apiKeyOptions(rateLimitStorage?: RateLimitStorage): ApiKeyModuleOptions & ApiKeyModuleExtras {
  return {
    ...API_KEY_POLICY,
    environments: [...KEY_ENVIRONMENTS],
    ...(rateLimitStorage ? { rateLimitStorage } : {}),
    // Lifecycle events are logged; per-key usage is counted (GET /keys/:id/usage); where each key was last used
    // from is kept as its network only, a /24 or /48 (GET /keys/:id/last-address).
    features: [withEvents({ listeners: [keyEventLogger] }), withUsage(), withLastAddress({ truncate: true })],
  };
}
