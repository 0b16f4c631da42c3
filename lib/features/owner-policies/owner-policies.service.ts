import { Inject, Injectable, Logger } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyValidationError } from '../../api-key.errors.js';
import { ApiKeyChanges } from '../../lifecycle/api-key.changes.js';
import * as input from '../../policies/api-key.input.js';
import { API_KEY_OWNER_POLICY_ENTITY, type ApiKeyOwnerPolicyColumns } from './owner-policy.entity.js';
import { DEFAULT_POLICY_OWNER, validateOwnerPolicy, type OwnerPolicy } from './owner-policy.js';
import {
  assertMayEditPolicy,
  assertMayReadPolicy,
  readablePolicyOwner,
  type PolicyActingOptions,
} from './owner-policy.acting.js';
import { enforcePolicies, type PolicyEnforcement } from './owner-policy.enforcement.js';
import { parsePolicy, readPolicyRows, type PolicyTables } from './owner-policy.store.js';

/** A stored policy: whose, its rules, who set it when. */
export interface OwnerPolicyRecord {
  /** The owner, or `'*'` for the default policy. */
  readonly ownerId: string;
  readonly policy: OwnerPolicy;
  readonly updatedAt: Date;
  readonly updatedBy: string | null;
}

/** What a policy change did: the policy now (`null` once removed) and the keys it disabled and enabled again. */
export interface OwnerPolicyChange extends PolicyEnforcement {
  readonly ownerId: string;
  readonly policy: OwnerPolicy | null;
}

/** The owner id of a policy call: an owner, or `'*'` for the default policy. */
function validatePolicyOwner(ownerId: unknown): string {
  if (ownerId === DEFAULT_POLICY_OWNER) return ownerId;
  const owner = input.validateOwnerId(ownerId);
  if (owner === null)
    throw new ApiKeyValidationError(`ownerId is required ("${DEFAULT_POLICY_OWNER}" for the default policy)`);
  return owner;
}

function recordOf(row: ApiKeyOwnerPolicyColumns): OwnerPolicyRecord {
  return { ownerId: row.ownerId, policy: parsePolicy(row.policy), updatedAt: row.updatedAt, updatedBy: row.updatedBy };
}

/**
 * Owner policies: what every key of an owner (or, with owner `'*'`, of every owner without a policy of its own)
 * may be. A change of a policy is one change of the write side: in its transaction, every live key it reaches
 * that breaks the new policy is disabled (`disabledReason` `policy:<rule>`, a `disabled` event each, the cached
 * rows dropped), and every key an earlier policy disabled that complies now is enabled again (never a key
 * disabled by hand). The request path is untouched: a disabled key is refused by its one lookup statement.
 * @example
 * await policies.set('acme', { scopes: ['orders:read'], maxLifetimeMs: 30 * DAY }, { actor: 'ops' });
 */
@Injectable()
export class ApiKeyOwnerPolicies {
  private readonly logger = new Logger('ApiKeyOwnerPolicies');
  private readonly tables: PolicyTables;

  constructor(
    private readonly changes: ApiKeyChanges,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_OWNER_POLICY_ENTITY) policies: typeof ApiKeyOwnerPolicyColumns,
  ) {
    this.tables = { db: changes.db, policies, options };
  }

  /**
   * Sets (replaces) the policy of `ownerId` (`'*'`: the default policy) and applies it to its keys now.
   * With `actingAs`, only a key of no owner or holding `keys:any-owner`, of the primary environment.
   * @throws ApiKeyValidationError for a bad policy; ApiKeyDelegationError (403) for an actor that may not edit it
   */
  async set(ownerId: string, policy: OwnerPolicy, acting: PolicyActingOptions = {}): Promise<OwnerPolicyChange> {
    const owner = validatePolicyOwner(ownerId);
    const checked = validateOwnerPolicy(policy, this.options.environments);
    if (acting.actingAs) assertMayEditPolicy(acting.actingAs, owner, this.options);
    return this.change(owner, checked, acting.actor);
  }

  /**
   * Removes the policy of `ownerId`: its keys fall back to the default policy (or to none), and the keys the
   * removed policy disabled that comply now are enabled again. Removing a policy that does not exist is a no-op.
   */
  async remove(ownerId: string, acting: PolicyActingOptions = {}): Promise<OwnerPolicyChange> {
    const owner = validatePolicyOwner(ownerId);
    if (acting.actingAs) assertMayEditPolicy(acting.actingAs, owner, this.options);
    return this.change(owner, null, acting.actor);
  }

  /** The policy of `ownerId` itself (`'*'`: the default), or `null`. With `actingAs`, an owner it reaches. */
  async get(ownerId: string, acting: PolicyActingOptions = {}): Promise<OwnerPolicyRecord | null> {
    const owner = validatePolicyOwner(ownerId);
    if (acting.actingAs) assertMayReadPolicy(acting.actingAs, owner);
    const row = await this.changes.db.run((em) => em.findOne(this.tables.policies, { where: { ownerId: owner } }));
    return row ? recordOf(row) : null;
  }

  /** Every policy, the default (`'*'`) first; with `actingAs` bound to an owner, its own and the default only. */
  async list(acting: PolicyActingOptions = {}): Promise<OwnerPolicyRecord[]> {
    const only = acting.actingAs ? readablePolicyOwner(acting.actingAs) : undefined;
    const rows = await this.changes.db.run((em) =>
      readPolicyRows(em, this.tables, only === undefined ? undefined : [only]),
    );
    return rows.map(recordOf);
  }

  /** Writes (or deletes) the policy and applies it to the keys it reaches, in one change. */
  private async change(
    ownerId: string,
    policy: OwnerPolicy | null,
    actor: string | undefined,
  ): Promise<OwnerPolicyChange> {
    const result = await this.changes.run(async (change) => {
      const { em, now } = change;
      // The default policy reaches every key whose owner has none: they are all read again.
      const reach = ownerId === DEFAULT_POLICY_OWNER ? null : ownerId;
      const write = async () => {
        if (policy === null) await em.delete(this.tables.policies, { ownerId });
        else
          await em.upsert(
            this.tables.policies,
            { ownerId, policy: JSON.stringify(policy), updatedAt: new Date(now), updatedBy: actor ?? null },
            ['ownerId'],
          );
      };
      return enforcePolicies(change, this.tables, reach, write, actor);
    });
    for (const id of result.disabled)
      this.logger.warn(`API key ${id} disabled: it breaks the policy of ${ownerId} (${result.rules[id]})`);
    for (const id of result.enabled) this.logger.log(`API key ${id} enabled again: it complies with its owner policy`);
    return { ownerId, policy, ...result };
  }
}
