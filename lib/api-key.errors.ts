/**
 * Typed errors thrown by the library. They carry no plaintext key, ever:
 * messages name the problem and, where one is known, the key's id. Each
 * carries a stable `code` of `API_KEY_ERROR_CODES` (api-key.error-codes.ts).
 */
import type { ApiKeyErrorCode } from './api-key.error-codes.js';

/**
 * Base class of every error this library throws on purpose. Switch on
 * {@link ApiKeyError.code} (stable, documented in docs/errors.md), not on
 * the message (for people, and free to change).
 * @example
 * try {
 *   await keys.revoke(id);
 * } catch (error) {
 *   if (!(error instanceof ApiKeyError) || error.code !== 'ERR_API_KEY_STATE_REVOKED') throw error;
 * }
 */
export class ApiKeyError extends Error {
  override readonly name: string = 'ApiKeyError';
  /** The stable code of this error: a key of `API_KEY_ERROR_CODES`, with its HTTP status. */
  readonly code: ApiKeyErrorCode = 'ERR_API_KEY_GENERIC';
}

/** Why a string is not a well-formed API key. */
export type ApiKeyFormatFailure =
  'not_a_string' | 'too_long' | 'too_short' | 'invalid_characters' | 'missing_prefix' | 'wrong_prefix' | 'bad_checksum';

/** A presented key is not well formed (found without any database access). */
export class ApiKeyFormatError extends ApiKeyError {
  override readonly name: string = 'ApiKeyFormatError';
  /** `ERR_API_KEY_FORMAT_` and the reason, e.g. `ERR_API_KEY_FORMAT_BAD_CHECKSUM`. */
  override readonly code: `ERR_API_KEY_FORMAT_${Uppercase<ApiKeyFormatFailure>}`;
  constructor(readonly reason: ApiKeyFormatFailure) {
    super(`Malformed API key: ${reason.replace(/_/g, ' ')}`);
    this.code = `ERR_API_KEY_FORMAT_${upper(reason)}`;
  }
}

/** An argument to a lifecycle operation is invalid (bad scopes, past expiry...). */
export class ApiKeyValidationError extends ApiKeyError {
  override readonly name: string = 'ApiKeyValidationError';
  override readonly code = 'ERR_API_KEY_VALIDATION';
}

/** No key with the given id exists. */
export class ApiKeyNotFoundError extends ApiKeyError {
  override readonly name: string = 'ApiKeyNotFoundError';
  override readonly code = 'ERR_API_KEY_NOT_FOUND';
  constructor(readonly id: string) {
    super(`API key ${id} not found`);
  }
}

/** The state of a key that forbids an operation ({@link ApiKeyStateError}). */
export type ApiKeyState = 'revoked' | 'rotated' | 'disabled' | 'enabled';

/** The key exists but its state forbids the operation (already revoked or rotated). */
export class ApiKeyStateError extends ApiKeyError {
  override readonly name: string = 'ApiKeyStateError';
  /** `ERR_API_KEY_STATE_` and the state, e.g. `ERR_API_KEY_STATE_REVOKED` (a reuse has its own code). */
  override readonly code: `ERR_API_KEY_STATE_${Uppercase<ApiKeyState>}` | 'ERR_API_KEY_REUSE_DETECTED';
  constructor(
    readonly id: string,
    readonly state: ApiKeyState,
  ) {
    super(`API key ${id} is already ${state}`);
    this.code = `ERR_API_KEY_STATE_${upper(state)}`;
  }
}

/**
 * A key that was already rotated away was presented for rotation again: two
 * parties hold the family, so every key of the family was revoked.
 */
export class ApiKeyReuseDetectedError extends ApiKeyStateError {
  override readonly name: string = 'ApiKeyReuseDetectedError';
  override readonly code = 'ERR_API_KEY_REUSE_DETECTED';
  constructor(
    id: string,
    readonly familyId: string,
    readonly revokedKeys: number,
  ) {
    super(id, 'rotated');
    this.message = `API key ${id} was already rotated: reuse detected, its family (${revokedKeys} live key(s)) is revoked`;
  }
}

/** The key store (database) could not answer. Callers must fail closed. */
export class ApiKeyStoreUnavailableError extends ApiKeyError {
  override readonly name: string = 'ApiKeyStoreUnavailableError';
  override readonly code = 'ERR_API_KEY_STORE_UNAVAILABLE';
  constructor(options?: { cause?: unknown }) {
    super('API key store unavailable', options);
  }
}

/**
 * The one mapping of a failure from below (a database driver, a rate-limit
 * storage, an introspection endpoint) to what callers see: this library's own
 * errors pass through unchanged, anything else becomes an
 * {@link ApiKeyStoreUnavailableError} with the failure as its `cause`, so
 * callers fail closed (503), never with a pass or a 401.
 * @example
 * try {
 *   await dataSource.query(sql);
 * } catch (error) {
 *   throw asStoreUnavailable(error);
 * }
 */
export function asStoreUnavailable(cause: unknown): ApiKeyError {
  return cause instanceof ApiKeyError ? cause : new ApiKeyStoreUnavailableError({ cause });
}

// Key controls: delegation, owner limits, IP allowlists.

/** What a delegation check found the acting key lacks. */
export type ApiKeyDelegationFailure = 'scope' | 'environment' | 'owner' | 'lifetime' | 'self';

/**
 * The acting key (`actingAs`) may not do this: it would grant scopes it does
 * not hold, reach a key of an environment it does not bound or of another
 * owner than its own, give a key a longer life than its own, or gain
 * anything on a key of its own rotation family (its limits, its scopes, its
 * life, enabling it). Mapped to 403.
 */
export class ApiKeyDelegationError extends ApiKeyError {
  override readonly name: string = 'ApiKeyDelegationError';
  /** `ERR_API_KEY_DELEGATION_` and the reason, e.g. `ERR_API_KEY_DELEGATION_SCOPE`. */
  override readonly code: `ERR_API_KEY_DELEGATION_${Uppercase<ApiKeyDelegationFailure>}`;
  constructor(
    readonly reason: ApiKeyDelegationFailure,
    message: string,
  ) {
    super(message);
    this.code = `ERR_API_KEY_DELEGATION_${upper(reason)}`;
  }
}

/** An owner already holds `maxKeysPerOwner` live keys. Mapped to 409. */
export class ApiKeyLimitError extends ApiKeyError {
  override readonly name: string = 'ApiKeyLimitError';
  override readonly code = 'ERR_API_KEY_OWNER_LIMIT';
  constructor(
    readonly ownerId: string,
    readonly limit: number,
  ) {
    super(`owner ${JSON.stringify(ownerId)} already holds the maximum of ${limit} live API keys`);
  }
}

/**
 * A bad option (`option` names it), or an app set up in a way the library
 * cannot work with (an entity not registered, a missing table, no TypeORM
 * DataSource...). Thrown at boot, before any request, with the fix in the
 * message; also by a decorator given a bad argument, when its class loads.
 * @example
 * // new ApiKeyConfigurationError('cache.ttlMs must be a positive number of ms', 'cache.ttlMs')
 * error.option; // 'cache.ttlMs'
 */
export class ApiKeyConfigurationError extends ApiKeyError {
  override readonly name: string = 'ApiKeyConfigurationError';
  override readonly code = 'ERR_API_KEY_CONFIGURATION';
  /**
   * The option at fault, as a path from the options object it was given in (`cache.ttlMs`,
   * `webhooks.endpoints[0].url`, `features[1]`), when one is; `undefined` for a setup problem.
   */
  readonly option: string | undefined;
  constructor(message: string, option?: string | { cause?: unknown }, options?: { cause?: unknown }) {
    super(message, typeof option === 'object' ? option : options);
    this.option = typeof option === 'string' ? option : undefined;
  }
}

/** A reason in capitals, as its code spells it. */
function upper<T extends string>(reason: T): Uppercase<T> {
  return reason.toUpperCase() as Uppercase<T>;
}
