import { Inject, Injectable } from '@nestjs/common';
import { In, type EntityManager } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import type { ApiKeyChangeHook } from '../../lifecycle/change-hook.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { ApiKeyOwnerPolicyError } from './owner-policy.error.js';
import { API_KEY_OWNER_POLICY_ENTITY, type ApiKeyOwnerPolicyColumns } from './owner-policy.entity.js';
import { policyViolation } from './owner-policy.js';
import {
  POLICY_KEY_SELECT,
  policyFor,
  policyKeyOf,
  readPoliciesHeld,
  type PolicyTables,
} from './owner-policy.store.js';

/**
 * The changes after which a key must comply with its owner's policy: a new key (issued, a rotation's successor,
 * one an import feature inserts and records as `issued` or `imported`), new fields, new scopes, enabled again.
 */
const CHECKED_EVENTS: ReadonlySet<string> = new Set(['issued', 'imported', 'updated', 'scopes_changed', 'enabled']);

/**
 * The write-time half of owner policies: inside every change's transaction, the keys it issued or changed are
 * read back with their owners' policies (held still until the change commits) and the change fails with an
 * {@link ApiKeyOwnerPolicyError} naming the rule when one breaks it. Changes that only take away (revoke,
 * disable) read nothing; a disabled key is checked when it is enabled.
 */
@Injectable()
export class OwnerPolicyHook implements ApiKeyChangeHook {
  private readonly tables: PolicyTables;

  constructor(
    @Inject(API_KEY_OPTIONS) options: ResolvedApiKeyOptions,
    db: ApiKeyDatabase,
    @Inject(API_KEY_OWNER_POLICY_ENTITY) policies: typeof ApiKeyOwnerPolicyColumns,
  ) {
    this.tables = { db, policies, options };
  }

  /** Refuses the change when a key it issued or gave something breaks its policy. @throws ApiKeyOwnerPolicyError */
  async duringChange(em: EntityManager, events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    const ids = [...new Set(events.filter((event) => CHECKED_EVENTS.has(event.type)).map((event) => event.keyId))];
    if (ids.length === 0) return;
    const rows = await em.find(this.tables.db.keys, { where: { id: In(ids) }, select: POLICY_KEY_SELECT });
    // A disabled key cannot be used: it is checked when it is enabled again.
    const live = rows.filter((row) => row.revokedAt === null && row.disabledAt === null);
    if (live.length === 0) return;
    const owners = live.map((row) => row.ownerId).filter((owner): owner is string => owner !== null);
    const policies = await readPoliciesHeld(em, this.tables, owners);
    for (const row of live) {
      const held = policyFor(policies, row.ownerId);
      const violation = held && policyViolation(held.policy, policyKeyOf(this.tables.options, row));
      if (violation) throw new ApiKeyOwnerPolicyError(violation.rule, held.owner, row.id, violation.message);
    }
  }
}
