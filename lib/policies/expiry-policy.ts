import { ApiKeyValidationError } from '../api-key.errors.js';
import { validateExpiry } from './api-key.input.js';

/** The lifetime limits of the module options. */
export interface ExpiryPolicy {
  readonly defaultLifetimeMs?: number;
  readonly maxLifetimeMs?: number;
}

/**
 * The expiry a new key gets: the requested one (checked: a valid future Date),
 * else `now + defaultLifetimeMs`, else none; then held to `maxLifetimeMs`,
 * which also forbids keys that never expire.
 * @throws ApiKeyValidationError
 */
export function resolveExpiry(requested: unknown, now: number, policy: ExpiryPolicy): Date | null {
  const expiresAt =
    validateExpiry(requested, now) ?? (policy.defaultLifetimeMs ? new Date(now + policy.defaultLifetimeMs) : null);
  if (policy.maxLifetimeMs !== undefined) {
    if (expiresAt === null)
      throw new ApiKeyValidationError(`keys must expire: set expiresAt within ${policy.maxLifetimeMs} ms`);
    if (expiresAt.getTime() - now > policy.maxLifetimeMs) {
      throw new ApiKeyValidationError(`expiresAt is beyond the maximum lifetime of ${policy.maxLifetimeMs} ms`);
    }
  }
  return expiresAt;
}
