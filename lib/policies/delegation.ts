import { ApiKeyDelegationError } from '../api-key.errors.js';
import { hasScope } from './scope-matcher.js';

/**
 * The scope that lets an acting key with an owner reach the keys of every
 * owner. Without it, such a key issues, reads, lists and changes only keys of
 * its own owner. `*` and `keys:*` cover it; like any scope, only a key that
 * holds it can grant it.
 */
export const ANY_OWNER_SCOPE = 'keys:any-owner';

/** The acting key of a management call, as the guard verified it (an `ApiKeyPrincipal` fits). */
export interface DelegatingKey {
  readonly id: string;
  /** Its rotation family (the first key's id): every rule about "itself" holds for the whole family. */
  readonly familyId: string;
  /** Its owner: with one, it reaches only that owner's keys unless it holds {@link ANY_OWNER_SCOPE}. */
  readonly ownerId: string | null;
  readonly scopes: readonly string[];
  /** The environment of its prefix (`live`, `test`), or `null` without environments. */
  readonly environment: string | null;
  readonly expiresAt: Date | null;
}

/** The module's environments, in order: the first (the default of `issue`) is the primary one. */
export interface DelegationPolicy {
  readonly environments: readonly string[];
}

/** The key a management call would create or leave behind: its owner, scopes, environment and expiry. */
export interface DelegatedKey {
  readonly ownerId: string | null;
  readonly scopes: readonly string[];
  readonly environment: string | null;
  readonly expiresAt: Date | null;
}

/** A stored key a management call reads or changes, as it is now. */
export interface ManagedKey extends DelegatedKey {
  readonly id: string;
  /** Its rotation family; `null` for a key from before families (then its own id). */
  readonly familyId: string | null;
}

/** What a change gives an existing key (see {@link assertMayChange}); absent fields stay as they are. */
export interface KeyChange {
  /** The scopes it will hold. */
  readonly scopes?: readonly string[];
  /** Its expiry after the change (`null`: never). Absent: the expiry is not checked against the actor's. */
  readonly expiresAt?: Date | null;
  /** The limits the change sets: `rateLimit`, `allowedIps`, `credits`. */
  readonly limits?: readonly string[];
  /** True when the change gives a disabled key its power back. */
  readonly enables?: boolean;
}

/** What of a listing an acting key may read: set fields bound it to one owner, one environment. */
export interface ReadBounds {
  readonly ownerId?: string;
  readonly environment?: string | null;
}

/** The requested scopes none of the granted ones covers (wildcards respected: `orders:*` covers `orders:refund:*`). */
export function uncoveredScopes(granted: readonly string[], requested: readonly string[]): string[] {
  return requested.filter((scope) => !hasScope(granted, scope));
}

/**
 * True when a key of environment `actor` may manage keys of environment
 * `target`: its own environment always; every environment from the primary
 * (first configured) one. So with `['live', 'test']`, live keys manage live
 * and test keys, and test keys manage only test keys.
 */
export function managesEnvironment(actor: string | null, target: string | null, policy: DelegationPolicy): boolean {
  return actor === target || (policy.environments.length > 0 && actor === policy.environments[0]);
}

/** True when `actor` may reach keys of `ownerId`: it has no owner, holds {@link ANY_OWNER_SCOPE}, or owns them. */
export function reachesOwner(actor: DelegatingKey, ownerId: string | null): boolean {
  return actor.ownerId === null || ownerId === actor.ownerId || hasScope(actor.scopes, ANY_OWNER_SCOPE);
}

/** True when `key` is `actor` or another key of its rotation family (a predecessor or a successor). */
export function isOwnFamily(actor: DelegatingKey, key: Pick<ManagedKey, 'id' | 'familyId'>): boolean {
  return key.id === actor.id || (key.familyId ?? key.id) === actor.familyId;
}

function ownerName(ownerId: string | null): string {
  return ownerId === null ? 'no owner' : `owner ${JSON.stringify(ownerId)}`;
}

function assertReachesOwner(actor: DelegatingKey, ownerId: string | null): void {
  if (!reachesOwner(actor, ownerId)) {
    throw new ApiKeyDelegationError(
      'owner',
      `API key ${actor.id} (${ownerName(actor.ownerId)}) cannot manage keys of ${ownerName(ownerId)}: that takes the ${ANY_OWNER_SCOPE} scope`,
    );
  }
}

/**
 * Refuses a read of, or a call that only takes away from (revoke, disable),
 * a key the actor does not reach: one of an environment it does not bound, or
 * of another owner when the actor is bound to its own.
 * @throws ApiKeyDelegationError (`environment`, `owner`)
 */
export function assertMayManage(
  actor: DelegatingKey,
  key: Pick<DelegatedKey, 'ownerId' | 'environment'>,
  policy: DelegationPolicy,
): void {
  if (!managesEnvironment(actor.environment, key.environment, policy)) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${actor.id} (${actor.environment ?? 'no'} environment) cannot manage ${key.environment ?? 'unmarked'} keys`,
    );
  }
  assertReachesOwner(actor, key.ownerId);
}

/**
 * The expiry a key gets when its caller did not ask for one: the policy's
 * default, held to the actor's own expiry when the actor expires.
 */
export function defaultExpiryWithin(actor: DelegatingKey, expiresAt: Date | null): Date | null {
  if (!actor.expiresAt) return expiresAt;
  return expiresAt && expiresAt.getTime() <= actor.expiresAt.getTime() ? expiresAt : new Date(actor.expiresAt);
}

/**
 * The owner a key gets when its caller did not name one: the actor's own,
 * when the actor is bound to it (has one, without {@link ANY_OWNER_SCOPE}).
 */
export function defaultOwnerWithin(actor: DelegatingKey, ownerId: string | null | undefined): string | null {
  if (ownerId !== undefined) return ownerId;
  return reachesOwner(actor, null) ? null : actor.ownerId;
}

/**
 * Refuses a call that would leave behind a key the actor could not have
 * issued itself (issue, rotate, and the changes of {@link assertMayChange}):
 * an owner and environment it reaches, every scope covered by its grants,
 * and, when the actor expires, an expiry no later than its own.
 * @throws ApiKeyDelegationError naming the first problem
 */
export function assertMayGrant(actor: DelegatingKey, key: DelegatedKey, policy: DelegationPolicy): void {
  assertMayManage(actor, key, policy);
  const missing = uncoveredScopes(actor.scopes, key.scopes);
  if (missing.length > 0) {
    throw new ApiKeyDelegationError(
      'scope',
      `API key ${actor.id} cannot grant ${missing.map((scope) => JSON.stringify(scope)).join(', ')}: it does not hold ${missing.length === 1 ? 'it' : 'them'}`,
    );
  }
  if (actor.expiresAt && (key.expiresAt === null || key.expiresAt.getTime() > actor.expiresAt.getTime())) {
    throw new ApiKeyDelegationError(
      'lifetime',
      `API key ${actor.id} expires at ${actor.expiresAt.toISOString()}: it cannot give a key a longer life`,
    );
  }
}

/**
 * Refuses a change of an existing key that gives something (new scopes, a
 * new expiry, its limits, enabling it) unless the actor could issue the
 * result ({@link assertMayGrant}), and refuses every gain on a key of the
 * actor's own rotation family (itself, its predecessor in a grace period, its
 * successor): no change of its limits (`rateLimit`, `allowedIps`, credits), no
 * enabling, no scope it does not hold now, no longer life than it has now.
 * Taking away (narrower scopes, a sooner expiry, a new name) stays allowed.
 * @throws ApiKeyDelegationError (`environment`, `owner`, `scope`, `lifetime`, `self`)
 */
export function assertMayChange(
  actor: DelegatingKey,
  key: ManagedKey,
  change: KeyChange,
  policy: DelegationPolicy,
): void {
  const scopes = change.scopes ?? key.scopes;
  // An unchanged expiry is not the actor's to check: only a new one is held to its own.
  const expiresAt = change.expiresAt !== undefined ? change.expiresAt : actor.expiresAt;
  assertMayGrant(actor, { ownerId: key.ownerId, environment: key.environment, scopes, expiresAt }, policy);
  if (!isOwnFamily(actor, key)) return;
  const of = `API key ${key.id}, a key of its own rotation family`;
  const refuse = (itself: string, other: string) =>
    new ApiKeyDelegationError('self', `API key ${actor.id} cannot ${key.id === actor.id ? itself : other}`);
  const limits = change.limits?.join(', ');
  if (limits) throw refuse(`change its own ${limits}`, `change the ${limits} of ${of}`);
  if (change.enables) throw refuse('enable itself', `enable ${of}`);
  if (uncoveredScopes(key.scopes, scopes).length > 0) throw refuse('widen its own scopes', `widen the scopes of ${of}`);
  const later =
    change.expiresAt !== undefined &&
    key.expiresAt !== null &&
    (change.expiresAt === null || change.expiresAt.getTime() > key.expiresAt.getTime());
  if (later) throw refuse('extend its own life', `extend the life of ${of}`);
}

/**
 * What of a listing `actor` may read: keys of its own owner only when it is
 * bound to it, keys of its own environment only when it is not of the
 * primary one. Naming another owner is refused rather than answered empty.
 * @throws ApiKeyDelegationError (`owner`) when `ownerId` names an owner it does not reach
 */
export function readBounds(
  actor: DelegatingKey,
  ownerId: string | null | undefined,
  policy: DelegationPolicy,
): ReadBounds {
  if (ownerId !== undefined) assertReachesOwner(actor, ownerId);
  const everyEnvironment = policy.environments.length === 0 || actor.environment === policy.environments[0];
  return {
    ...(reachesOwner(actor, null) ? {} : { ownerId: actor.ownerId! }),
    ...(everyEnvironment ? {} : { environment: actor.environment }),
  };
}

/**
 * Refuses revoking every key of `ownerId` to an actor that does not reach
 * that owner, or does not manage every environment (the call crosses them).
 * @throws ApiKeyDelegationError (`owner`, `environment`)
 */
export function assertMayRevokeAll(actor: DelegatingKey, ownerId: string, policy: DelegationPolicy): void {
  if (readBounds(actor, ownerId, policy).environment !== undefined) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${actor.id} is a ${actor.environment ?? 'unmarked'} key: only a ${policy.environments[0]} key may revoke all of an owner's keys`,
    );
  }
}
