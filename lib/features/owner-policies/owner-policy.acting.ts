import { ApiKeyDelegationError } from '../../api-key.errors.js';
import {
  ANY_OWNER_SCOPE,
  readBounds,
  reachesOwner,
  type DelegatingKey,
  type DelegationPolicy,
} from '../../policies/delegation.js';
import { hasScope } from '../../policies/scope-matcher.js';
import { DEFAULT_POLICY_OWNER } from './owner-policy.js';

/** Who acts on a policy: `actor` for the audit trail and logs, `actingAs` the admin key whose reach applies. */
export interface PolicyActingOptions {
  readonly actor?: string;
  readonly actingAs?: DelegatingKey;
}

/**
 * Refuses a policy change to an acting key bound to an owner (one with an owner, without `keys:any-owner`): it
 * may not edit its own owner's policy (that would let it lift its own bounds), nor any other. Only a key of no
 * owner or holding `keys:any-owner`, of the primary environment (a policy crosses environments), may.
 * @throws ApiKeyDelegationError (`owner`, `environment`)
 */
export function assertMayEditPolicy(actor: DelegatingKey, ownerId: string, policy: DelegationPolicy): void {
  if (actor.ownerId !== null && !hasScope(actor.scopes, ANY_OWNER_SCOPE)) {
    const whose =
      ownerId === actor.ownerId
        ? 'its own owner'
        : ownerId === DEFAULT_POLICY_OWNER
          ? 'the default'
          : `owner ${JSON.stringify(ownerId)}`;
    throw new ApiKeyDelegationError(
      'owner',
      `API key ${actor.id} is bound to owner ${JSON.stringify(actor.ownerId)}: it cannot edit the policy of ${whose}; that takes the ${ANY_OWNER_SCOPE} scope`,
    );
  }
  if (readBounds(actor, undefined, policy).environment !== undefined) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${actor.id} is a ${actor.environment ?? 'unmarked'} key: only a ${policy.environments[0]} key may edit owner policies`,
    );
  }
}

/** Refuses reading the policy of an owner the acting key does not reach (the default policy is readable by all). */
export function assertMayReadPolicy(actor: DelegatingKey, ownerId: string): void {
  if (ownerId === DEFAULT_POLICY_OWNER || reachesOwner(actor, ownerId)) return;
  throw new ApiKeyDelegationError(
    'owner',
    `API key ${actor.id} cannot read the policy of owner ${JSON.stringify(ownerId)}: that takes the ${ANY_OWNER_SCOPE} scope`,
  );
}

/** The one owner whose policy (besides the default) an acting key bound to an owner may list; `undefined`: all. */
export function readablePolicyOwner(actor: DelegatingKey): string | undefined {
  return reachesOwner(actor, null) ? undefined : actor.ownerId!;
}

/** True when `actor` may edit owner policies ({@link assertMayEditPolicy} for any owner would pass). */
export function mayEditPolicies(actor: DelegatingKey, policy: DelegationPolicy): boolean {
  try {
    assertMayEditPolicy(actor, DEFAULT_POLICY_OWNER, policy);
    return true;
  } catch {
    return false;
  }
}
