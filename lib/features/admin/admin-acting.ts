import { ApiKeyDelegationError } from '../../api-key.errors.js';
import type { ActingOptions, ApiKeyRecord } from '../../lifecycle/api-key.record.js';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { environmentOfHint } from '../../lifecycle/key-factory.js';
import { assertMayManage, assertNotOwnLimits, uncoveredScopes } from '../../policies/delegation.js';
import type { ApiKeyPrincipal } from '../../verification/api-key.principal.js';
import type { AdminIdentity } from './admin.options.js';

/** What a console action hands the service about who acts. */
export interface AdminActingOptions {
  readonly actor: string;
  /** The signed-in admin key (default sign-in); absent with a host guard. */
  readonly actingAs?: ApiKeyPrincipal;
}

/** What the action grants, checked only in host-guard mode (the service checks an admin key itself). */
export interface AdminGrant {
  /** The scopes the key will hold after the action (issue, new scopes, a rotation's successor). */
  readonly scopes?: readonly string[];
}

/**
 * The one place every console call that changes a key gets its acting
 * options from: the audit actor `admin:<id>` and, when the operator signed
 * in with an admin key, that key as `actingAs`, so the service enforces the
 * delegation rules (scopes, environment, lifetime, own limits) in the
 * change's transaction and answers `ApiKeyDelegationError` (403).
 *
 * With a host guard there is no key: the host's identity is trusted for
 * environment and lifetime, and only the scope rule applies, with the same
 * check and error as the service (`uncoveredScopes`).
 * @throws ApiKeyDelegationError (403) in host-guard mode, naming the scopes the operator lacks
 */
export function actingOptions(admin: AdminIdentity, grant: AdminGrant = {}): AdminActingOptions & ActingOptions {
  const actor = `admin:${admin.id}`;
  if (admin.principal) return { actor, actingAs: admin.principal };
  const missing = uncoveredScopes(admin.scopes, grant.scopes ?? []);
  if (missing.length > 0) {
    throw new ApiKeyDelegationError(
      'scope',
      `operator ${admin.id} cannot grant ${missing.map((scope) => JSON.stringify(scope)).join(', ')}: they do not hold ${missing.length === 1 ? 'it' : 'them'}`,
    );
  }
  return { actor };
}

/**
 * Who may revoke every key of an owner (`revokeAllForOwner` crosses
 * environments and takes no `actingAs`): an admin key of the primary (first
 * configured) environment, or of a setup without environments; a host
 * guard's operator (trusted).
 * @throws ApiKeyDelegationError (403) for an admin key of another environment
 */
export function assertMayRevokeAll(admin: AdminIdentity, environments: readonly string[]): void {
  const key = admin.principal;
  if (!key || environments.length === 0) return;
  if (key.environment !== environments[0]) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${key.id} is a ${key.environment ?? 'keyless'} key: only a ${environments[0]} admin key may revoke all of an owner's keys`,
    );
  }
}

/**
 * Who may add or set a key's credits (`addCredits` / `setCredits` take no
 * `actingAs`): an admin key that manages the key's environment, holds its
 * scopes, and is not the key itself (the delegation rules of `update`).
 * @throws ApiKeyDelegationError (403)
 */
export function assertMayChangeCredits(
  actingAs: ApiKeyPrincipal,
  key: Pick<ApiKeyRecord, 'id' | 'hint' | 'scopes'>,
  options: ResolvedApiKeyOptions,
): void {
  assertMayManage(actingAs, environmentOfHint(options, key.hint), options);
  const missing = uncoveredScopes(actingAs.scopes, key.scopes);
  if (missing.length > 0) {
    throw new ApiKeyDelegationError(
      'scope',
      `API key ${actingAs.id} cannot manage a key holding ${missing.join(', ')}`,
    );
  }
  assertNotOwnLimits(actingAs, key.id, ['credits']);
}
