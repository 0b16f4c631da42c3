import { ApiKeyValidationError } from '../api-key.errors.js';

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
