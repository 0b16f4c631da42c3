import { ApiKeyConfigurationError, ApiKeyValidationError } from '../api-key.errors.js';
import { MAX_CREDITS, MAX_REFILL_INTERVAL_MS, MIN_REFILL_INTERVAL_MS, type CreditsInput } from './credits.js';

/** Longest key name. */
export const MAX_NAME_LENGTH = 100;
/** Longest owner id. */
export const MAX_OWNER_ID_LENGTH = 255;
/** Largest metadata object, as JSON. */
export const MAX_METADATA_BYTES = 4096;

/** Checks a key name: a non-blank string of 1-100 characters. */
export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new ApiKeyValidationError(`name must be a non-blank string of at most ${MAX_NAME_LENGTH} characters`);
  }
  return name;
}

/** Checks an owner id: absent, or a non-empty string of at most 255 characters. */
export function validateOwnerId(ownerId: unknown): string | null {
  if (ownerId === undefined || ownerId === null) return null;
  if (typeof ownerId !== 'string' || ownerId.length === 0 || ownerId.length > MAX_OWNER_ID_LENGTH) {
    throw new ApiKeyValidationError(`ownerId must be a non-empty string of at most ${MAX_OWNER_ID_LENGTH} characters`);
  }
  // MySQL/MariaDB ignore trailing spaces in comparisons: 'a' and 'a ' must not be two owners.
  if (ownerId.trim() !== ownerId) throw new ApiKeyValidationError('ownerId must not start or end with whitespace');
  return ownerId;
}

/** Checks an expiry: absent, or a valid Date after `now`. */
export function validateExpiry(expiresAt: unknown, now: number): Date | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new ApiKeyValidationError('expiresAt must be a valid Date');
  }
  if (expiresAt.getTime() <= now) throw new ApiKeyValidationError('expiresAt must be in the future');
  return expiresAt;
}

/** Checks metadata: absent, or a plain JSON object of at most 4 KiB. */
export function validateMetadata(metadata: unknown): Record<string, unknown> | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ApiKeyValidationError('metadata must be a JSON object');
  }
  let json: string;
  try {
    json = JSON.stringify(metadata);
  } catch {
    throw new ApiKeyValidationError('metadata must be serializable as JSON');
  }
  if (Buffer.byteLength(json) > MAX_METADATA_BYTES) {
    throw new ApiKeyValidationError(`metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
  }
  return JSON.parse(json);
}

/** Checks a grace period: a finite number of ms, 0 or more. */
export function validateGracePeriod(ms: unknown): number {
  if (ms === undefined) return 0;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new ApiKeyValidationError('gracePeriodMs must be a non-negative number of milliseconds');
  }
  return ms;
}

/** Checks an id argument. */
export function validateId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 36)
    throw new ApiKeyValidationError('id must be a key id');
  return id;
}

/** The smallest entropy a key body may carry, in bits. */
export const MIN_ENTROPY_BITS = 128;
/** Longest revocation reason. */
export const MAX_REASON_LENGTH = 255;
/** Largest page of a list. */
export const MAX_PAGE_SIZE = 100;
/** Page size of a list when none is given. */
export const DEFAULT_PAGE_SIZE = 50;

/**
 * Checks the entropy of key bodies (a configuration value, so an
 * `ApiKeyConfigurationError` naming `entropyBits`): an integer of at least {@link MIN_ENTROPY_BITS}.
 */
export function validateEntropyBits(bits: unknown): number {
  if (!Number.isInteger(bits) || (bits as number) < MIN_ENTROPY_BITS) {
    throw new ApiKeyConfigurationError(
      `entropyBits must be an integer >= ${MIN_ENTROPY_BITS}; got ${JSON.stringify(bits)}`,
      'entropyBits',
    );
  }
  return bits as number;
}

/** Checks the paging of a list: `limit` 1-100 (default 50), `offset` 0 or more (default 0). */
export function validatePage(query: { limit?: unknown; offset?: unknown }): { limit: number; offset: number } {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_PAGE_SIZE)
    throw new ApiKeyValidationError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  if (!Number.isInteger(offset) || (offset as number) < 0)
    throw new ApiKeyValidationError('offset must be a non-negative integer');
  return { limit: limit as number, offset: offset as number };
}

/** Checks a revocation reason: absent (`null`), or a string of at most 255 characters. */
export function validateReason(reason: unknown): string | null {
  if (reason === undefined) return null;
  if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH) {
    throw new ApiKeyValidationError(`reason must be a string of at most ${MAX_REASON_LENGTH} characters`);
  }
  return reason;
}

/**
 * Checks the environment a key is issued in: one of the configured
 * `environments` (the first when absent), or absent when none are configured.
 */
export function validateEnvironment(environment: unknown, environments: readonly string[]): string | undefined {
  if (environment === undefined) return environments[0];
  if (typeof environment !== 'string' || !environments.includes(environment)) {
    throw new ApiKeyValidationError(
      environments.length ? `environment must be one of ${environments.join(', ')}` : 'no environments are configured',
    );
  }
  return environment;
}

/** Checks the cut-off of a purge: a valid Date, not after `now`. */
export function validatePurgeBefore(before: unknown, now: number): Date {
  if (!(before instanceof Date) || Number.isNaN(before.getTime()) || before.getTime() > now) {
    throw new ApiKeyValidationError('before must be a valid Date, not in the future');
  }
  return before;
}

/** Checks an events query: by key, by owner or both (one at least), with paging. */
export function validateEventsQuery(query: { keyId?: unknown; ownerId?: unknown; limit?: unknown; offset?: unknown }): {
  limit: number;
  offset: number;
} {
  const page = validatePage(query);
  if (query.keyId === undefined && query.ownerId === undefined)
    throw new ApiKeyValidationError('give keyId or ownerId');
  return page;
}

/** Checks a count of credits: an integer from `min` to 2e9. */
export function validateCreditCount(value: unknown, what: string, min = 0): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_CREDITS) {
    throw new ApiKeyValidationError(`${what} must be an integer from ${min} to ${MAX_CREDITS}`);
  }
  return value as number;
}

/**
 * Checks `credits` (and `maxUses`, its no-refill shorthand; not both):
 * `{ remaining, refill?: { amount, intervalMs } }`. `null` for a key without credits.
 */
export function validateCredits(credits: unknown, maxUses?: unknown): CreditsInput | null {
  if (credits === undefined || credits === null) {
    if (maxUses === undefined || maxUses === null) return null;
    return { remaining: validateCreditCount(maxUses, 'maxUses', 1), refill: null };
  }
  if (maxUses !== undefined && maxUses !== null)
    throw new ApiKeyValidationError('give credits or maxUses, not both (maxUses is credits without refill)');
  if (typeof credits !== 'object' || Array.isArray(credits))
    throw new ApiKeyValidationError('credits must be an object: { remaining, refill?: { amount, intervalMs } }');
  const { remaining, refill, ...rest } = credits as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new ApiKeyValidationError(`credits has unknown field(s): ${unknown.join(', ')}`);
  const balance = validateCreditCount(remaining, 'credits.remaining');
  if (refill === undefined || refill === null) return { remaining: balance, refill: null };
  if (typeof refill !== 'object' || Array.isArray(refill))
    throw new ApiKeyValidationError('credits.refill must be an object: { amount, intervalMs }');
  const { amount, intervalMs, ...extra } = refill as Record<string, unknown>;
  const unexpected = Object.keys(extra);
  if (unexpected.length)
    throw new ApiKeyValidationError(`credits.refill has unknown field(s): ${unexpected.join(', ')}`);
  const interval = intervalMs as number;
  if (!Number.isInteger(interval) || interval < MIN_REFILL_INTERVAL_MS || interval > MAX_REFILL_INTERVAL_MS) {
    throw new ApiKeyValidationError(
      `credits.refill.intervalMs must be an integer number of ms from ${MIN_REFILL_INTERVAL_MS} to ${MAX_REFILL_INTERVAL_MS}`,
    );
  }
  return {
    remaining: balance,
    refill: { amount: validateCreditCount(amount, 'credits.refill.amount', 1), intervalMs: interval },
  };
}
