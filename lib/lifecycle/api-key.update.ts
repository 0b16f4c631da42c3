import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyValidationError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import { validateAllowedIps } from '../policies/ip-allowlist.js';
import { validateRateLimit } from '../policies/rate-limit.js';

/**
 * The patch of `ApiKeyService.update`: only the fields given change; `null`
 * clears `metadata`, `expiresAt` (never expires, if the policy allows),
 * `rateLimit` (back to the module default) and `allowedIps` (any address).
 */
export interface ApiKeyUpdate {
  name?: string;
  metadata?: Record<string, unknown> | null;
  /** Held to the expiry policy: in the future, and within `maxLifetimeMs` of the key's creation. */
  expiresAt?: Date | null;
  rateLimit?: { limit: number; windowMs: number } | null;
  allowedIps?: string[] | null;
  /** Credits (remaining uses with an optional refill): not in this version; giving it is a validation error. */
  credits?: { remaining: number; refill?: { amount: number; intervalMs: number } } | null;
}

/** The fields `update` takes, in the order events list them. */
export const UPDATABLE_FIELDS = ['name', 'metadata', 'expiresAt', 'rateLimit', 'allowedIps', 'credits'] as const;

/** A field of {@link ApiKeyUpdate}. */
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

/** The expiry a key may be given by `update`: the policy counts a key's lifetime from its creation. */
function updatedExpiry(value: unknown, createdAt: Date, now: number, options: ResolvedApiKeyOptions): Date | null {
  const expiresAt = input.validateExpiry(value, now);
  if (options.maxLifetimeMs !== undefined) {
    if (expiresAt === null)
      throw new ApiKeyValidationError(`keys must expire: set expiresAt within ${options.maxLifetimeMs} ms`);
    if (expiresAt.getTime() - createdAt.getTime() > options.maxLifetimeMs)
      throw new ApiKeyValidationError(
        `expiresAt is beyond the maximum lifetime of ${options.maxLifetimeMs} ms from the key's creation`,
      );
  }
  return expiresAt;
}

/**
 * Validates a patch against the key's row and turns it into column values,
 * with the names of the fields it changes.
 * @throws ApiKeyValidationError for an empty patch, an unknown field or a bad value
 */
export function toUpdateChange(
  patch: unknown,
  row: Pick<ApiKeyColumns, 'createdAt'>,
  now: number,
  options: ResolvedApiKeyOptions,
): { set: Partial<ApiKeyColumns>; fields: UpdatableField[] } {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch))
    throw new ApiKeyValidationError('update takes an object of fields to change');
  const given = Object.keys(patch).filter((key) => (patch as Record<string, unknown>)[key] !== undefined);
  const unknown = given.find((key) => !(UPDATABLE_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined)
    throw new ApiKeyValidationError(`cannot update ${JSON.stringify(unknown)}: use ${UPDATABLE_FIELDS.join(', ')}`);
  if (given.length === 0) throw new ApiKeyValidationError('update needs at least one field to change');
  const p = patch as ApiKeyUpdate;
  const set: Partial<ApiKeyColumns> = {};
  if (p.name !== undefined) set.name = input.validateName(p.name);
  if (p.metadata !== undefined) set.metadata = input.validateMetadata(p.metadata);
  if (p.expiresAt !== undefined) set.expiresAt = updatedExpiry(p.expiresAt, row.createdAt, now, options);
  if (p.rateLimit !== undefined) {
    const rate = validateRateLimit(p.rateLimit);
    set.rateLimitMax = rate?.limit ?? null;
    set.rateLimitWindowMs = rate?.windowMs ?? null;
  }
  if (p.allowedIps !== undefined) {
    const list = validateAllowedIps(p.allowedIps);
    set.allowedIps = list === null ? null : JSON.stringify(list);
  }
  // `credits` lives on the family's newest key: applied by the caller in the same transaction (ApiKeyCredits.configure).
  if (p.credits !== undefined) input.validateCredits(p.credits);
  return { set, fields: UPDATABLE_FIELDS.filter((field) => given.includes(field)) };
}
