import { IsNull, Not, type FindOptionsWhere } from 'typeorm';
import type { KeyCredits } from './api-key.credits.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import type { ApiKeyEventType } from '../storage/api-key-event.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import type { ActingOptions } from './api-key.record.js';
import type { KeyChange, LifecycleContext } from './api-key.changes.js';
import { managedKeyOf } from './acting-key.js';
import { assertMayChange, assertMayManage, assertMayRevokeAll } from '../policies/delegation.js';
import { toUpdateChange, type ApiKeyUpdate } from './api-key.update.js';

/** The columns a control reads (locked) before it changes a key. */
const CONTROL_SELECT = {
  id: true,
  familyId: true,
  ownerId: true,
  hint: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  revokedAt: true,
  disabledAt: true,
} as const;

type ControlRow = Pick<ApiKeyColumns, keyof typeof CONTROL_SELECT>;

function validateReason(reason: unknown): string | null {
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string' || reason.length > 255)
    throw new ApiKeyValidationError('reason must be a string of at most 255 characters');
  return reason;
}

/**
 * The key controls behind `ApiKeyService.disable`, `enable`, `update` and
 * `revokeAllForOwner`. Each is one change: the key's row is locked and
 * checked (state, delegation), changed by one conditional UPDATE, audited,
 * and dropped from the lookup cache on every instance.
 */
export class KeyControls {
  constructor(
    private readonly context: LifecycleContext,
    private readonly credits: KeyCredits,
  ) {}

  private get options() {
    return this.context.options;
  }

  /** Disables a live key (reversibly). @throws ApiKeyStateError when revoked or already disabled */
  async disable(id: string, reason: unknown, { actor, actingAs }: ActingOptions): Promise<void> {
    input.validateId(id);
    const why = validateReason(reason);
    await this.change(id, 'disabled', actor, { reason: why }, (row) => {
      if (actingAs) assertMayManage(actingAs, managedKeyOf(this.options, row), this.options);
      if (row.revokedAt) throw new ApiKeyStateError(id, 'revoked');
      if (row.disabledAt) throw new ApiKeyStateError(id, 'disabled');
      return {
        where: { id, revokedAt: IsNull(), disabledAt: IsNull() },
        set: { disabledAt: new Date(), disabledReason: why },
      };
    });
  }

  /**
   * Enables a disabled key. It gives the key its power back, so `actingAs`
   * must be able to issue it (scopes, environment, owner, lifetime), and
   * cannot enable a key of its own rotation family.
   * @throws ApiKeyStateError when revoked or not disabled
   */
  async enable(id: string, { actor, actingAs }: ActingOptions): Promise<void> {
    input.validateId(id);
    await this.change(id, 'enabled', actor, {}, (row) => {
      if (actingAs) {
        const change = { enables: true, expiresAt: row.expiresAt };
        assertMayChange(actingAs, managedKeyOf(this.options, row), change, this.options);
      }
      if (row.revokedAt) throw new ApiKeyStateError(id, 'revoked');
      if (!row.disabledAt) throw new ApiKeyStateError(id, 'enabled');
      return {
        where: { id, revokedAt: IsNull(), disabledAt: Not(IsNull()) },
        set: { disabledAt: null, disabledReason: null },
      };
    });
  }

  /**
   * Changes a live key's name, metadata, expiry, rate limit or IP allowlist.
   * One event lists the names of the changed fields (never their values).
   */
  async update(id: string, patch: ApiKeyUpdate, { actor, actingAs }: ActingOptions): Promise<void> {
    input.validateId(id);
    if (patch?.rateLimit) this.context.rateLimits?.assertCanCount();
    const now = Date.now();
    await this.change(id, 'updated', actor, undefined, (row) => {
      const { set, fields } = toUpdateChange(patch, row, now, this.options);
      if (actingAs) {
        // Only a new expiry is held to the actor's; the key's scopes must be the actor's to grant.
        const change = {
          ...('expiresAt' in set ? { expiresAt: set.expiresAt as Date | null } : {}),
          limits: fields.filter((field) => field === 'rateLimit' || field === 'allowedIps' || field === 'credits'),
        };
        assertMayChange(actingAs, managedKeyOf(this.options, row), change, this.options);
      }
      if (row.revokedAt) throw new ApiKeyStateError(id, 'revoked');
      // Credits belong to the rotation family's newest key: set there, in this transaction.
      const credits = patch.credits;
      const after =
        credits === undefined ? undefined : (change: KeyChange) => this.credits.configure(change, id, credits);
      return { where: { id, revokedAt: IsNull() }, set, details: { fields }, after };
    });
  }

  /**
   * Revokes every live key of an owner in one UPDATE, with one `revoked`
   * event per key. Returns how many keys it revoked. `actingAs` must reach
   * the owner and manage every environment.
   */
  async revokeAllForOwner(ownerId: unknown, reason: unknown, { actor, actingAs }: ActingOptions): Promise<number> {
    const owner = input.validateOwnerId(ownerId);
    if (owner === null) throw new ApiKeyValidationError('ownerId is required');
    const why = validateReason(reason);
    if (actingAs) assertMayRevokeAll(actingAs, owner, this.options);
    const { keys } = this.context.db;
    return this.context.changes.run(async ({ em, now, record, invalidate }) => {
      const at = new Date(now);
      const result = await em.update(keys, { ownerId: owner, revokedAt: IsNull() }, {
        revokedAt: at,
        revokedReason: why,
      } as never);
      if (!result.affected) return 0;
      // The rows this statement revoked: this owner's, revoked at this very instant (read in the same transaction).
      const revoked = await em.find(keys, { where: { ownerId: owner, revokedAt: at }, select: { id: true } });
      const ids = revoked.map((row) => row.id);
      const details = { reason: why, allForOwner: true };
      record(...ids.map((keyId) => ({ keyId, ownerId: owner, type: 'revoked' as const, actor, details })));
      invalidate(ids);
      return result.affected;
    });
  }

  /**
   * Locks the key's row, lets `plan` check it and say what to change, runs
   * one conditional UPDATE, writes the event and invalidates the cache.
   */
  private async change(
    id: string,
    type: ApiKeyEventType,
    actor: string | undefined,
    details: Record<string, unknown> | undefined,
    plan: (row: ControlRow) => {
      where: FindOptionsWhere<ApiKeyColumns>;
      set: Partial<ApiKeyColumns>;
      details?: Record<string, unknown>;
      /** More work in the same change (it invalidates what it changes). */
      after?: (change: KeyChange) => Promise<unknown>;
    },
  ): Promise<void> {
    const { db, changes } = this.context;
    await changes.run(async (change) => {
      const row = await change.em.findOne(db.keys, { where: { id }, select: CONTROL_SELECT, lock: db.writeLock });
      if (!row) throw new ApiKeyNotFoundError(id);
      const { where, set, details: planned, after } = plan(row);
      // An update of credits alone changes no column of this row (the balance is the family's).
      if (Object.keys(set).length > 0) {
        const result = await change.em.update(db.keys, where, set as never);
        if (result.affected !== 1) throw new ApiKeyStateError(id, type === 'enabled' ? 'enabled' : 'revoked');
      }
      if (after) await after(change);
      change.record({ keyId: id, ownerId: row.ownerId, type, actor, details: planned ?? details });
      change.invalidate([id]);
    });
  }
}
