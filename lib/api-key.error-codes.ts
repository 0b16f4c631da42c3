/**
 * The stable codes of the library's errors: one table, read by `ApiKeyExceptionFilter` (the HTTP status of an
 * error, and the public message of a 5xx) and mirrored by docs/errors.md (a unit test keeps the two equal).
 * Pure data: no Nest, no imports.
 */

/** The HTTP statuses the library's errors map to. */
export type ApiKeyErrorStatus = 400 | 403 | 404 | 409 | 500 | 503;

/** What one error code means. */
export interface ApiKeyErrorCodeInfo {
  /** The HTTP status `ApiKeyExceptionFilter` answers with. */
  readonly status: ApiKeyErrorStatus;
  /** The class that throws it (`error.name`). */
  readonly errorClass: string;
  /** A short public title; the body's `message` of a 5xx (whose own message stays in the server's log). */
  readonly title: string;
  /** When it is thrown. */
  readonly description: string;
}

/**
 * Every code an `ApiKeyError` carries, with its HTTP status, class, title and meaning. Codes are
 * `ERR_API_KEY_` and the failure, in capitals; a class whose errors carry a `reason` (or `state`) has one code
 * per reason: its stem, `_`, and the reason (`ERR_API_KEY_DELEGATION_SCOPE` for `reason: 'scope'`). Codes are
 * stable: a code is never renamed or given another meaning; new ones may be added.
 * @example
 * catch (error) {
 *   if (error instanceof ApiKeyError && error.code === 'ERR_API_KEY_STATE_REVOKED') return; // revoked already: done
 *   throw error;
 * }
 */
export const API_KEY_ERROR_CODES = {
  ERR_API_KEY_GENERIC: {
    status: 500,
    errorClass: 'ApiKeyError',
    title: 'API key error',
    description: 'an `ApiKeyError` without a code of its own (a subclass outside the library)',
  },
  ERR_API_KEY_FORMAT_NOT_A_STRING: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'the presented key is not a string',
  },
  ERR_API_KEY_FORMAT_TOO_LONG: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'the presented key is longer than 128 characters (rejected unread)',
  },
  ERR_API_KEY_FORMAT_TOO_SHORT: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'the body is shorter than 128 bits and a checksum',
  },
  ERR_API_KEY_FORMAT_INVALID_CHARACTERS: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'characters other than ASCII letters, digits and single inner `_`',
  },
  ERR_API_KEY_FORMAT_MISSING_PREFIX: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'no `<prefix>_` before the body, or a prefix longer than 32 characters',
  },
  ERR_API_KEY_FORMAT_WRONG_PREFIX: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'a well-formed key of another prefix than the one expected',
  },
  ERR_API_KEY_FORMAT_BAD_CHECKSUM: {
    status: 400,
    errorClass: 'ApiKeyFormatError',
    title: 'Malformed API key',
    description: 'the checksum does not match the prefix and body (a typo, or a made-up key)',
  },
  ERR_API_KEY_VALIDATION: {
    status: 400,
    errorClass: 'ApiKeyValidationError',
    title: 'Invalid argument',
    description: 'an argument of a service call is invalid (a bad scope, a past expiry, unknown fields...)',
  },
  ERR_API_KEY_NOT_FOUND: {
    status: 404,
    errorClass: 'ApiKeyNotFoundError',
    title: 'API key not found',
    description: 'no key with the given id exists',
  },
  ERR_API_KEY_STATE_REVOKED: {
    status: 409,
    errorClass: 'ApiKeyStateError',
    title: 'API key already revoked',
    description: 'the key is revoked: no change applies to it any more',
  },
  ERR_API_KEY_STATE_ROTATED: {
    status: 409,
    errorClass: 'ApiKeyStateError',
    title: 'API key already rotated',
    description: 'the key was rotated away: it cannot be rotated again (or a concurrent rotation won)',
  },
  ERR_API_KEY_STATE_DISABLED: {
    status: 409,
    errorClass: 'ApiKeyStateError',
    title: 'API key disabled',
    description: 'the key is disabled: it cannot be disabled again or rotated until it is enabled',
  },
  ERR_API_KEY_STATE_ENABLED: {
    status: 409,
    errorClass: 'ApiKeyStateError',
    title: 'API key already enabled',
    description: 'the key is not disabled: there is nothing to enable',
  },
  ERR_API_KEY_REUSE_DETECTED: {
    status: 409,
    errorClass: 'ApiKeyReuseDetectedError',
    title: 'API key reuse detected',
    description: 'a key already rotated away was presented for rotation: its whole family was revoked',
  },
  ERR_API_KEY_STORE_UNAVAILABLE: {
    status: 503,
    errorClass: 'ApiKeyStoreUnavailableError',
    title: 'API key store unavailable',
    description: 'the database (or a rate-limit storage, an introspection endpoint) could not answer: fail closed',
  },
  ERR_API_KEY_DELEGATION_SCOPE: {
    status: 403,
    errorClass: 'ApiKeyDelegationError',
    title: 'Delegation refused: scope',
    description: 'the acting key (or operator) would grant scopes it does not hold',
  },
  ERR_API_KEY_DELEGATION_ENVIRONMENT: {
    status: 403,
    errorClass: 'ApiKeyDelegationError',
    title: 'Delegation refused: environment',
    description: 'the acting key would reach a key (or do an operation) its environment does not cover',
  },
  ERR_API_KEY_DELEGATION_OWNER: {
    status: 403,
    errorClass: 'ApiKeyDelegationError',
    title: 'Delegation refused: owner',
    description: 'the acting key would reach a key of another owner without the any-owner scope',
  },
  ERR_API_KEY_DELEGATION_LIFETIME: {
    status: 403,
    errorClass: 'ApiKeyDelegationError',
    title: 'Delegation refused: lifetime',
    description: 'the acting key would give a key a longer life than its own',
  },
  ERR_API_KEY_DELEGATION_SELF: {
    status: 403,
    errorClass: 'ApiKeyDelegationError',
    title: 'Delegation refused: own family',
    description: 'the acting key would widen, extend, unlimit or enable a key of its own rotation family',
  },
  ERR_API_KEY_OWNER_LIMIT: {
    status: 409,
    errorClass: 'ApiKeyLimitError',
    title: 'Owner key limit reached',
    description: 'the owner already holds `maxKeysPerOwner` live keys',
  },
  ERR_API_KEY_OWNER_POLICY: {
    status: 403,
    errorClass: 'ApiKeyOwnerPolicyError',
    title: 'Refused by the owner policy',
    description:
      'the key would break its owner policy (feature `owner-policies`); `rule` names the rule: scopes, expiry, lifetime, environment, addresses',
  },
  ERR_API_KEY_CONFIGURATION: {
    status: 500,
    errorClass: 'ApiKeyConfigurationError',
    title: 'API key setup error',
    description: 'a bad option (named by `option`) or setup (a missing table, entity or package), found at boot',
  },
} as const satisfies Record<string, ApiKeyErrorCodeInfo>;

/** One of the codes of {@link API_KEY_ERROR_CODES}: what `ApiKeyError.code` holds. */
export type ApiKeyErrorCode = keyof typeof API_KEY_ERROR_CODES;
