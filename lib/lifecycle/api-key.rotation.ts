import { IsNull, type EntityManager, type FindOptionsWhere } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import {
  ApiKeyNotFoundError,
  ApiKeyReuseDetectedError,
  ApiKeyStateError,
  ApiKeyValidationError,
} from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import type { KeyChange, LifecycleContext } from './api-key.changes.js';
import { toRecord, type RotateApiKeyOptions, type RotatedApiKey } from './api-key.record.js';
import { resolveExpiry } from '../policies/expiry-policy.js';
import { createKey, environmentOfHint, prefixOfHint } from './key-factory.js';
import { assertMayGrant, assertMayManage, defaultExpiryWithin } from '../policies/delegation.js';
import { managedKeyOf } from './acting-key.js';
import { environmentOf } from '../key/key-format.js';
import { hashApiKey } from '../key/key-hash.js';

/** A family's balance as it moves to a successor. */
type Balance = Pick<ApiKeyColumns, 'remainingUses' | 'refilledAtMs'>;

type Outcome = { rotated: RotatedApiKey } | { reuse: ApiKeyReuseDetectedError };

/**
 * Rotation: a successor with the same name, owner, scopes, metadata and
 * environment, linked into the old key's family. The old key is revoked now,
 * or stays valid for a grace period. One transaction, with the old row locked
 * and claimed by a conditional UPDATE, so of concurrent rotations exactly one
 * succeeds.
 */
export class KeyRotation {
  constructor(private readonly context: LifecycleContext) {}

  private get options() {
    return this.context.options;
  }

  private get entity() {
    return this.context.db.keys;
  }

  /** Rotates by id (an operator's action). A rotated or revoked key is an {@link ApiKeyStateError}. */
  async rotate(id: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    input.validateId(id);
    return this.rotateWhere({ id }, id, options, false);
  }

  /**
   * Rotates the presented key (a client renewing its own key). Presenting a key
   * that was already rotated away means two parties hold the family: the whole
   * family is revoked, a `reuse_detected` event written, and an
   * {@link ApiKeyReuseDetectedError} (an {@link ApiKeyStateError}) thrown.
   */
  async rotateByKey(key: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    if (environmentOf(key, this.options.prefixes) === undefined)
      throw new ApiKeyValidationError('the presented key is not a key of this service');
    return this.rotateWhere({ hash: hashApiKey(key) }, 'presented key', options, true);
  }

  private async rotateWhere(
    where: FindOptionsWhere<ApiKeyColumns>,
    label: string,
    options: RotateApiKeyOptions,
    detectReuse: boolean,
  ): Promise<RotatedApiKey> {
    const grace = input.validateGracePeriod(options.gracePeriodMs);
    const now = Date.now();
    if (options.expiresAt !== undefined) resolveExpiry(options.expiresAt, now, this.options);
    const outcome = await this.context.changes.run(async (change): Promise<Outcome> => {
      const { em } = change;
      const old = await em.findOne(this.entity, { where, lock: this.context.db.writeLock });
      if (!old)
        throw detectReuse
          ? new ApiKeyValidationError('the presented key is not a key of this service')
          : new ApiKeyNotFoundError(label);
      // A key the actor does not reach tells it nothing of its state; the full check follows in replace().
      if (options.actingAs) assertMayManage(options.actingAs, managedKeyOf(this.options, old), this.options);
      if (old.replacedById) {
        if (detectReuse) return { reuse: await this.revokeFamily(change, old, options.actor) };
        throw new ApiKeyStateError(old.id, 'rotated');
      }
      if (old.revokedAt) throw new ApiKeyStateError(old.id, 'revoked');
      // A successor would be enabled: enable the key first, deliberately.
      if (old.disabledAt) throw new ApiKeyStateError(old.id, 'disabled');
      if (old.expiresAt && old.expiresAt.getTime() <= now)
        throw new ApiKeyValidationError(`API key ${old.id} has expired`);
      return { rotated: await this.replace(change, old, grace, options) };
    }, now);
    if ('reuse' in outcome) throw outcome.reuse;
    return outcome.rotated;
  }

  private async replace(
    { em, now, record, invalidate }: KeyChange,
    old: ApiKeyColumns,
    grace: number,
    options: RotateApiKeyOptions,
  ): Promise<RotatedApiKey> {
    const lifetime = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : null;
    const requested =
      options.expiresAt !== undefined ? options.expiresAt : lifetime ? new Date(now + lifetime) : undefined;
    let expiresAt = resolveExpiry(requested, now, this.options);
    const actor = options.actingAs;
    if (actor) {
      // The successor is a new key: the actor must be able to issue it.
      if (options.expiresAt === undefined) expiresAt = defaultExpiryWithin(actor, expiresAt);
      const environment = environmentOfHint(this.options, old.hint);
      assertMayGrant(actor, { ownerId: old.ownerId, scopes: old.scopes, environment, expiresAt }, this.options);
    }
    const { key, row } = createKey(
      {
        name: old.name,
        ownerId: old.ownerId,
        scopes: old.scopes,
        metadata: old.metadata,
        expiresAt,
        remainingUses: old.remainingUses,
        rateLimitMax: old.rateLimitMax,
        rateLimitWindowMs: old.rateLimitWindowMs,
        refillAmount: old.refillAmount,
        refillIntervalMs: old.refillIntervalMs,
        refilledAtMs: old.refilledAtMs,
        allowedIps: old.allowedIps,
      },
      {
        prefix: prefixOfHint(old.hint),
        entropyBits: this.options.entropyBits,
        keyTagger: this.options.keyTagger,
        now,
        familyId: old.familyId ?? old.id,
      },
    );
    const change: Partial<ApiKeyColumns> =
      grace > 0
        ? { replacedById: row.id, expiresAt: new Date(Math.min(now + grace, old.expiresAt?.getTime() ?? Infinity)) }
        : { replacedById: row.id, revokedAt: new Date(now), revokedReason: 'rotated' };
    // The condition makes the claim atomic: a concurrent rotation or revocation
    // that got there first leaves nothing to update, and this one fails.
    const balance = await this.claim(em, old, change);
    // The family's balance moves to the successor (the old key, in its grace
    // period, spends from there): one balance per family, never two.
    Object.assign(row, balance);
    await em.insert(this.entity, row as never);
    // The old key's cached row is stale (revoked, or its expiry shortened); the successor is new, so never cached.
    invalidate([old.id]);
    record(
      {
        keyId: old.id,
        ownerId: old.ownerId,
        type: 'rotated',
        actor: options.actor,
        details: { successorId: row.id, gracePeriodMs: grace },
      },
      { keyId: row.id, ownerId: row.ownerId, type: 'issued', actor: options.actor, details: { rotatedFrom: old.id } },
    );
    const previous = { ...old, ...change, ...(balance.remainingUses === null ? {} : { remainingUses: 0 }) };
    return { key, record: toRecord(row), previous: toRecord(previous) };
  }

  /**
   * Claims the old row (successor, revocation or grace expiry) and takes its
   * balance: the claim also sets the old row's balance to 0, on the condition
   * that it is still the one read. Requests spend without this transaction's
   * lock on SQLite (one connection, statements interleave), so a spend that
   * slipped in since the read makes the claim miss: then the balance is read
   * again and the claim retried; it is never copied stale.
   */
  private async claim(em: EntityManager, old: ApiKeyColumns, change: Partial<ApiKeyColumns>): Promise<Balance> {
    let balance: Balance = { remainingUses: old.remainingUses, refilledAtMs: old.refilledAtMs };
    for (let attempt = 0; ; attempt++) {
      const claimed = await em.update(
        this.entity,
        {
          id: old.id,
          revokedAt: IsNull(),
          replacedById: IsNull(),
          remainingUses: balance.remainingUses ?? IsNull(),
          refilledAtMs: balance.refilledAtMs ?? IsNull(),
        },
        (balance.remainingUses === null ? change : { ...change, remainingUses: 0 }) as never,
      );
      if (claimed.affected === 1) return balance;
      const fresh = await em.findOne(this.entity, {
        where: { id: old.id },
        select: { id: true, revokedAt: true, replacedById: true, remainingUses: true, refilledAtMs: true },
      });
      const moved = fresh && fresh.revokedAt === null && fresh.replacedById === null && attempt < 5;
      if (!moved) throw new ApiKeyStateError(old.id, 'rotated');
      balance = { remainingUses: fresh.remainingUses, refilledAtMs: fresh.refilledAtMs };
    }
  }

  /** Revokes every live key of the family, invalidates the cache and records the reuse. */
  private async revokeFamily(
    { em, now, record, invalidate }: KeyChange,
    old: ApiKeyColumns,
    actor: string | undefined,
  ): Promise<ApiKeyReuseDetectedError> {
    const familyId = old.familyId ?? old.id;
    const revoked = await em.update(this.entity, { familyId, revokedAt: IsNull() }, {
      revokedAt: new Date(now),
      revokedReason: 'reuse_detected',
    } as never);
    // Which cached rows belong to the family is not known here: drop them all.
    invalidate('all');
    record({
      keyId: old.id,
      ownerId: old.ownerId,
      type: 'reuse_detected',
      actor,
      details: { familyId, revokedKeys: revoked.affected ?? 0 },
    });
    return new ApiKeyReuseDetectedError(old.id, familyId, revoked.affected ?? 0);
  }
}
