import { ApiKeyDelegationError } from '../api-key.errors.js';
import { hasScope } from './scope-matcher.js';

/** The acting key of a management call, as the guard verified it (an `ApiKeyPrincipal` fits). */
export interface DelegatingKey {
  readonly id: string;
  readonly scopes: readonly string[];
  /** The environment of its prefix (`live`, `test`), or `null` without environments. */
  readonly environment: string | null;
  readonly expiresAt: Date | null;
}

/** The module's environments, in order: the first (the default of `issue`) is the primary one. */
export interface DelegationPolicy {
  readonly environments: readonly string[];
}

/** The key a management call would create or leave behind: its scopes, environment and expiry. */
export interface DelegatedKey {
  readonly scopes: readonly string[];
  readonly environment: string | null;
  readonly expiresAt: Date | null;
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

/**
 * Refuses a call on a key of environment `target` by an actor whose
 * environment does not bound it (revoke, disable: calls that only take away).
 * @throws ApiKeyDelegationError (`environment`)
 */
export function assertMayManage(actor: DelegatingKey, target: string | null, policy: DelegationPolicy): void {
  if (!managesEnvironment(actor.environment, target, policy)) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${actor.id} (${actor.environment ?? 'no'} environment) cannot manage ${target ?? 'unmarked'} keys`,
    );
  }
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
 * Refuses a call that would leave behind a key the actor could not have
 * issued itself (issue, updateScopes, rotate, enable, update): every scope
 * covered by the actor's grants, an environment it bounds, and, when the
 * actor expires, an expiry no later than its own.
 * @throws ApiKeyDelegationError naming the first problem
 */
export function assertMayGrant(actor: DelegatingKey, key: DelegatedKey, policy: DelegationPolicy): void {
  assertMayManage(actor, key.environment, policy);
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
 * Refuses a key's attempt to change its own limits (rate limit, IP
 * allowlist, credits): those were set by whoever issued it.
 * @throws ApiKeyDelegationError (`self`)
 */
export function assertNotOwnLimits(actor: DelegatingKey, targetId: string, fields: readonly string[]): void {
  if (actor.id === targetId && fields.length > 0) {
    throw new ApiKeyDelegationError('self', `API key ${actor.id} cannot change its own ${fields.join(', ')}`);
  }
}
