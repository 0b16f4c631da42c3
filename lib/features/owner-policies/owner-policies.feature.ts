import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { ApiKeyOwnerPolicies } from './owner-policies.service.js';
import { API_KEY_OWNER_POLICY_ENTITY, apiKeyOwnerPolicyEntityFor, ownerPolicyEntities } from './owner-policy.entity.js';
import { OwnerPolicyHook } from './owner-policy.hook.js';
import { ownerPolicyMigrations } from './migrations/index.js';

/**
 * Owner policies: per owner (and a default, owner `'*'`), the scopes its keys may hold, their longest lifetime,
 * whether they must expire, their environments and the address ranges they must be restricted to. Enforced when
 * keys are issued, updated, rotated, enabled and imported (a change hook: `ApiKeyOwnerPolicyError`, 403), and on
 * existing keys when a policy changes (they are disabled, or enabled again, in the policy's transaction), so the
 * request path keeps its one statement. Brings the policy table (`ownerPolicyMigrations`), checked at boot.
 * See docs/owner-policies.md.
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withOwnerPolicies()] })
 * // then: app.get(ApiKeyOwnerPolicies).set('acme', { maxLifetimeMs: 30 * 86_400_000 }, { actor: 'ops' })
 */
export function withOwnerPolicies(): ApiKeyFeature {
  return {
    name: 'owner-policies',
    providers: (setup) => [
      { provide: API_KEY_OWNER_POLICY_ENTITY, useValue: apiKeyOwnerPolicyEntityFor(setup.tableName) },
      OwnerPolicyHook,
      ApiKeyOwnerPolicies,
    ],
    exports: [ApiKeyOwnerPolicies],
    tables: { entities: ownerPolicyEntities, migrations: ownerPolicyMigrations },
    changeHook: OwnerPolicyHook,
  };
}
