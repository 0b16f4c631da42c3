/**
 * `nestjs-opaque-keys/owner-policies`: per-owner key policies (scopes, lifetime, expiry, environments, address
 * ranges), enforced at write time and applied live to existing keys, as a feature. See docs/owner-policies.md.
 * @module
 */
export { withOwnerPolicies } from './owner-policies.feature.js';
export { ApiKeyOwnerPolicies, type OwnerPolicyRecord, type OwnerPolicyChange } from './owner-policies.service.js';
export { ApiKeyOwnerPolicyError } from './owner-policy.error.js';
export {
  DEFAULT_POLICY_OWNER,
  OWNER_POLICY_RULES,
  policyViolation,
  validateOwnerPolicy,
  allowlistWithin,
  type OwnerPolicy,
  type OwnerPolicyRule,
  type PolicyKey,
} from './owner-policy.js';
export { POLICY_DISABLED_PREFIX, type PolicyEnforcement } from './owner-policy.enforcement.js';
export { mayEditPolicies, type PolicyActingOptions } from './owner-policy.acting.js';
export {
  ApiKeyOwnerPolicyEntity,
  ApiKeyOwnerPolicyColumns,
  apiKeyOwnerPolicyEntityFor,
  ownerPolicyEntities,
  ownerPolicyTableFor,
  DEFAULT_API_KEY_OWNER_POLICY_TABLE,
} from './owner-policy.entity.js';
export { ownerPolicyMigrations, AddOwnerPoliciesMigration } from './migrations/index.js';
