import { Inject, Injectable, Optional } from '@nestjs/common';
import { IsNull, Not, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { ApiKeyCredits } from './api-key.credits.js';
import { ApiKeyAuditLog } from './api-key-audit.log.js';
import { API_KEY_ENTITY, API_KEY_OPTIONS } from '../api-key.constants.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import type { ApiKeyEventType } from '../storage/api-key-event.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from '../api-key.errors.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import * as input from '../policies/api-key.input.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ActingOptions } from './api-key.record.js';
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
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
 * `revokeAllForOwner`. Each is one transaction: the key's row is locked and
 * checked (state, delegation), changed by one conditional UPDATE, audited,
 * and dropped from the lookup cache on every instance.
 */
@Injectable()
export class ApiKeyControls {
  constructor(
    @Inject(API_KEY_ENTITY) private readonly entity: typeof ApiKeyColumns,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly unitOfWork: ApiKeyUnitOfWork,
    private readonly audit: ApiKeyAuditLog,
    private readonly credits: ApiKeyCredits,
    @Optional() private readonly cache?: ApiKeyCacheInvalidator,
  ) {}

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
        credits === undefined
          ? undefined
          : async (em: EntityManager) => [(await this.credits.configure(em, id, credits, now)).holderId];
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
    const now = new Date();
    return this.unitOfWork.run(async (em) => {
      const result = await em.update(this.entity, { ownerId: owner, revokedAt: IsNull() }, {
        revokedAt: now,
        revokedReason: why,
      } as never);
      if (!result.affected) return 0;
      // The rows this statement revoked: this owner's, revoked at this very instant (read in the same transaction).
      const revoked = await em.find(this.entity, {
        where: { ownerId: owner, revokedAt: now },
        select: { id: true },
      });
      const ids = revoked.map((row) => row.id);
      await this.audit.write(
        em,
        ids.map((keyId) => ({
          keyId,
          ownerId: owner,
          type: 'revoked',
          actor,
          details: { reason: why, allForOwner: true },
        })),
        now.getTime(),
      );
      await this.cache?.changed(em, { ids });
      return result.affected;
    }, true);
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
      /** More work in the same transaction; returns more key ids whose cached rows it changed. */
      after?: (em: EntityManager) => Promise<string[]>;
    },
  ): Promise<void> {
    await this.unitOfWork.run(async (em: EntityManager) => {
      const row = await em.findOne(this.entity, {
        where: { id },
        select: CONTROL_SELECT,
        lock: this.unitOfWork.writeLock,
      });
      if (!row) throw new ApiKeyNotFoundError(id);
      const { where, set, details: planned, after } = plan(row);
      // An update of credits alone changes no column of this row (the balance is the family's).
      if (Object.keys(set).length > 0) {
        const result = await em.update(this.entity, where, set as never);
        if (result.affected !== 1) throw new ApiKeyStateError(id, type === 'enabled' ? 'enabled' : 'revoked');
      }
      const also = after ? await after(em) : [];
      await this.audit.write(em, [{ keyId: id, ownerId: row.ownerId, type, actor, details: planned ?? details }]);
      await this.cache?.changed(em, { ids: [...new Set([id, ...also])] });
    }, true);
  }
}
