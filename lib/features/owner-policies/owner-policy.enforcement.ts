import { In, IsNull, Like } from 'typeorm';
import type { KeyChange } from '../../lifecycle/api-key.changes.js';
import type { OwnerPolicyRule } from './owner-policy.js';
import { policyViolation } from './owner-policy.js';
import {
  lockKeysForPolicyChange,
  policyFor,
  policyKeyOf,
  readPolicyRows,
  toPolicyMap,
  type PolicyTables,
} from './owner-policy.store.js';

/** The prefix of the `disabledReason` of a key a policy disabled: `policy:<rule>`. */
export const POLICY_DISABLED_PREFIX = 'policy:';

/** What a policy change did to keys. */
export interface PolicyEnforcement {
  /** The keys it disabled (they get the 401 of any invalid key on their next request). */
  readonly disabled: string[];
  /** The keys an earlier policy disabled that it enabled again. */
  readonly enabled: string[];
  /** The rule each disabled key breaks. */
  readonly rules: Readonly<Record<string, OwnerPolicyRule>>;
}

/**
 * Applies the policies to the keys `ownerId` reaches (every key when `null`), in the policy change's transaction:
 * the keys are locked first, then `write` writes the policy, then every live key is held to its policy as it is
 * now. A key that breaks it and is enabled is disabled (`policy:<rule>`, a `disabled` event); a key a policy
 * disabled that complies now is enabled again (an `enabled` event). A key disabled by hand is never enabled.
 * Every key changed is dropped from the lookup cache on every instance.
 */
export async function enforcePolicies(
  change: KeyChange,
  tables: PolicyTables,
  ownerId: string | null,
  write: () => Promise<void>,
  actor: string | undefined,
): Promise<PolicyEnforcement> {
  const { em, now, record, invalidate } = change;
  const rows = await lockKeysForPolicyChange(em, tables, ownerId);
  await write();
  const policies = toPolicyMap(await readPolicyRows(em, tables, ownerId === null ? undefined : [ownerId]));
  const byRule = new Map<OwnerPolicyRule, { ids: string[]; owners: Map<string, string> }>();
  const rules: Record<string, OwnerPolicyRule> = {};
  const enabled: string[] = [];
  for (const row of rows) {
    const held = policyFor(policies, row.ownerId);
    const violation = held && policyViolation(held.policy, policyKeyOf(tables.options, row));
    const byPolicy = row.disabledReason?.startsWith(POLICY_DISABLED_PREFIX) ?? false;
    if (violation && row.disabledAt === null) {
      const group = byRule.get(violation.rule) ?? { ids: [], owners: new Map<string, string>() };
      group.ids.push(row.id);
      group.owners.set(row.id, held.owner);
      byRule.set(violation.rule, group);
      rules[row.id] = violation.rule;
    } else if (!violation && row.disabledAt !== null && byPolicy) enabled.push(row.id);
  }
  const { keys } = tables.db;
  const ownerOf = new Map(rows.map((row) => [row.id, row.ownerId]));
  for (const [rule, { ids, owners }] of byRule) {
    const reason = `${POLICY_DISABLED_PREFIX}${rule}`;
    await em.update(keys, { id: In(ids), disabledAt: IsNull(), revokedAt: IsNull() }, {
      disabledAt: new Date(now),
      disabledReason: reason,
    } as never);
    record(
      ...ids.map((keyId) => ({
        keyId,
        ownerId: ownerOf.get(keyId) ?? null,
        type: 'disabled' as const,
        actor,
        details: { reason, policyOwner: owners.get(keyId) },
      })),
    );
  }
  if (enabled.length > 0) {
    await em.update(keys, { id: In(enabled), disabledReason: Like(`${POLICY_DISABLED_PREFIX}%`) }, {
      disabledAt: null,
      disabledReason: null,
    } as never);
    const details = { reason: 'policy relaxed' };
    record(
      ...enabled.map((keyId) => ({
        keyId,
        ownerId: ownerOf.get(keyId) ?? null,
        type: 'enabled' as const,
        actor,
        details,
      })),
    );
  }
  const disabled = Object.keys(rules);
  invalidate([...disabled, ...enabled]);
  return { disabled, enabled, rules };
}
