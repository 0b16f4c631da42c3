import { ApiKeyDelegationError } from '../../api-key.errors.js';
import type { ActingOptions } from '../../lifecycle/api-key.record.js';
import { uncoveredScopes } from '../../policies/delegation.js';
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
 * The one place every console call gets its acting options from: the audit
 * actor `admin:<id>` and, when the operator signed in with an admin key, that
 * key as `actingAs`, so the service enforces the delegation rules (scopes,
 * environment, owner, lifetime, its own rotation family) on every read and
 * change, in the change's transaction, and answers `ApiKeyDelegationError` (403).
 *
 * With a host guard there is no key: the host's identity is trusted for
 * environment, owner and lifetime, and only the scope rule applies, with the same
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
