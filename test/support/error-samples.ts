import {
  ApiKeyConfigurationError,
  ApiKeyDelegationError,
  ApiKeyError,
  ApiKeyFormatError,
  ApiKeyLimitError,
  ApiKeyNotFoundError,
  ApiKeyReuseDetectedError,
  ApiKeyStateError,
  ApiKeyStoreUnavailableError,
  ApiKeyValidationError,
  type ApiKeyDelegationFailure,
  type ApiKeyFormatFailure,
  type ApiKeyState,
} from 'nestjs-opaque-keys';
import { ApiKeyOwnerPolicyError } from 'nestjs-opaque-keys/owner-policies';

// Every reason of each class: the type check fails here when a reason is added and not listed.
const FORMAT_FAILURES = Object.keys({
  not_a_string: true,
  too_long: true,
  too_short: true,
  invalid_characters: true,
  missing_prefix: true,
  wrong_prefix: true,
  bad_checksum: true,
} satisfies Record<ApiKeyFormatFailure, true>) as ApiKeyFormatFailure[];
const STATES = Object.keys({
  revoked: true,
  rotated: true,
  disabled: true,
  enabled: true,
} satisfies Record<ApiKeyState, true>) as ApiKeyState[];
const DELEGATION_FAILURES = Object.keys({
  scope: true,
  environment: true,
  owner: true,
  lifetime: true,
  self: true,
} satisfies Record<ApiKeyDelegationFailure, true>) as ApiKeyDelegationFailure[];

/**
 * One instance of every error class of the library, and of every reason of the classes that have one
 * (as the library builds them: each constructor with its own arguments, so each instance's `code` is the
 * class's own doing, not this list's).
 */
export function everyApiKeyError(): ApiKeyError[] {
  return [
    new ApiKeyError('something went wrong'),
    ...FORMAT_FAILURES.map((reason) => new ApiKeyFormatError(reason)),
    new ApiKeyValidationError('name must be a non-blank string of at most 100 characters'),
    new ApiKeyNotFoundError('0190d5e2-0000-7000-8000-000000000001'),
    ...STATES.map((state) => new ApiKeyStateError('0190d5e2-0000-7000-8000-000000000002', state)),
    new ApiKeyReuseDetectedError('0190d5e2-0000-7000-8000-000000000003', '0190d5e2-0000-7000-8000-000000000004', 2),
    new ApiKeyStoreUnavailableError({ cause: new Error('connect ECONNREFUSED 10.0.0.7:5432') }),
    ...DELEGATION_FAILURES.map((reason) => new ApiKeyDelegationError(reason, `refused (${reason})`)),
    new ApiKeyLimitError('team-1', 3),
    new ApiKeyOwnerPolicyError('lifetime', 'team-1', '0190d5e2-0000-7000-8000-000000000005', 'too long'),
    new ApiKeyConfigurationError('table internal_keys does not exist in schema billing_private', 'tableName'),
  ];
}
