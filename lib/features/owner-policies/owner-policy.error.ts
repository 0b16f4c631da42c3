import { ApiKeyError } from '../../api-key.errors.js';
import type { OwnerPolicyRule } from './owner-policy.js';

/**
 * A key would break its owner's policy (or the default policy): issued, updated, rotated, enabled or imported
 * outside it. Code `ERR_API_KEY_OWNER_POLICY` (403); `rule` names the rule (`scopes`, `expiry`, `lifetime`,
 * `environment`, `addresses`), as the message does. The change it refused rolled back whole.
 * @example
 * catch (error) {
 *   if (error instanceof ApiKeyOwnerPolicyError && error.rule === 'lifetime') return shorterExpiry();
 * }
 */
export class ApiKeyOwnerPolicyError extends ApiKeyError {
  override readonly name: string = 'ApiKeyOwnerPolicyError';
  override readonly code = 'ERR_API_KEY_OWNER_POLICY';
  constructor(
    /** The rule the key would break. */
    readonly rule: OwnerPolicyRule,
    /** The owner whose policy it is (`'*'` for the default policy). */
    readonly policyOwner: string,
    /** The key's id. */
    readonly keyId: string,
    detail: string,
  ) {
    const whose =
      policyOwner === '*' ? 'the default owner policy' : `the policy of owner ${JSON.stringify(policyOwner)}`;
    super(`API key ${keyId} would break ${whose} (rule ${rule}): ${detail}`);
  }
}
