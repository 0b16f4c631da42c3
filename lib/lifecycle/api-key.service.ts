import { Inject, Injectable } from '@nestjs/common';
import { And, IsNull, LessThan, LessThanOrEqual, MoreThan, Not, type FindOptionsWhere } from 'typeorm';
import { ApiKeyAuditLog, type ApiKeyEventInput, type ListApiKeyEventsQuery } from './api-key-audit.log.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { API_KEY_ENTITY, API_KEY_OPTIONS } from '../api-key.constants.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyVerification } from '../verification/api-key.principal.js';
import {
  RECORD_COLUMNS,
  toRecord,
  type ActingOptions,
  type ApiKeyPage,
  type ApiKeyRecord,
  type IssueApiKeyInput,
  type IssuedApiKey,
  type LeakedKeyResult,
  type ListApiKeysQuery,
  type RotateApiKeyOptions,
  type RotatedApiKey,
} from './api-key.record.js';
import { ApiKeyRotation } from './api-key.rotation.js';
import { ApiKeyUsageReader, type ApiKeyUsageQuery, type ApiKeyUsageSeries } from './api-key-usage.reader.js';
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { resolveExpiry } from '../policies/expiry-policy.js';
import { createKey, environmentOfHint, prefixFor } from './key-factory.js';
import { assertMayGrant, assertMayManage, defaultExpiryWithin } from '../policies/delegation.js';
import { environmentOf } from '../key/key-format.js';
import { ApiKeyCredits, creditColumns } from './api-key.credits.js';
import { hashApiKey } from '../key/key-hash.js';
import { normalizeScopes } from '../policies/scope-matcher.js';
import { validateRateLimit, type RateLimit } from '../policies/rate-limit.js';
import { validateAllowedIps } from '../policies/ip-allowlist.js';
import { ApiKeyControls } from './api-key.controls.js';
import type { ApiKeyUpdate } from './api-key.update.js';
import { assertOwnerBelowLimit, isDeadlock, OWNER_LIMIT_ATTEMPTS } from './owner-key-limit.js';

const RECORD_SELECT = Object.fromEntries(RECORD_COLUMNS.map((column) => [column, true]));

/** An allowlist as its column stores it: JSON text, or `null` for any address. */
function storedAllowedIps(allowedIps: string[] | null): string | null {
  return allowedIps === null ? null : JSON.stringify(allowedIps);
}

function rateLimitColumns(rate: RateLimit | null): { rateLimitMax: number | null; rateLimitWindowMs: number | null } {
  return { rateLimitMax: rate?.limit ?? null, rateLimitWindowMs: rate?.windowMs ?? null };
}

/** The conditions of `list({ status })` on top of `base` (several = OR). */
function statusWhere(
  base: FindOptionsWhere<ApiKeyColumns>,
  status: unknown,
  now: Date,
): FindOptionsWhere<ApiKeyColumns> | FindOptionsWhere<ApiKeyColumns>[] {
  const live = { ...base, revokedAt: IsNull() };
  switch (status) {
    case undefined:
      return base;
    case 'active':
      return [
        { ...live, disabledAt: IsNull(), expiresAt: IsNull() },
        { ...live, disabledAt: IsNull(), expiresAt: MoreThan(now) },
      ];
    case 'disabled':
      return { ...live, disabledAt: Not(IsNull()) };
    case 'revoked':
      return { ...base, revokedAt: Not(IsNull()) };
    case 'expired':
      return { ...live, expiresAt: LessThanOrEqual(now) };
    default:
      throw new ApiKeyValidationError('status must be one of active, disabled, revoked, expired');
  }
}

/** Query of `ApiKeyService.listExpiring`. */
export interface ListExpiringQuery {
  /** How far ahead to look, in ms (e.g. 7 days). */
  within: number;
  ownerId?: string;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  offset?: number;
}

/** Who acts, for the audit log. */
export interface ActorOption {
  actor?: string;
}

/**
 * Issues, rotates, revokes and lists API keys. Every change is one
 * transaction with its audit event (`api_key_events`) and its invalidation of
 * the lookup cache, guarded by conditional statements, so concurrent calls
 * never leave two live successors or a half-revoked key. Plaintext keys leave
 * only through `issue` and `rotate`, once.
 */
@Injectable()
export class ApiKeyService {
  constructor(
    @Inject(API_KEY_ENTITY) private readonly entity: typeof ApiKeyColumns,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly unitOfWork: ApiKeyUnitOfWork,
    private readonly verifier: ApiKeyVerifier,
    private readonly rotation: ApiKeyRotation,
    private readonly audit: ApiKeyAuditLog,
    private readonly cache: ApiKeyCacheInvalidator,
    private readonly credits: ApiKeyCredits,
    private readonly controls: ApiKeyControls,
    private readonly usageReader: ApiKeyUsageReader,
  ) {}

  /**
   * Creates a key. The plaintext is in the result and nowhere else. With
   * `actingAs`, the new key must be within the acting key's scopes,
   * environment and lifetime (a default expiry is held to the actor's).
   * @throws ApiKeyDelegationError when `actingAs` may not issue it
   */
  async issue(request: IssueApiKeyInput): Promise<IssuedApiKey> {
    const now = Date.now();
    const credits = input.validateCredits(request.credits, request.maxUses);
    const fields = {
      name: input.validateName(request?.name),
      ownerId: input.validateOwnerId(request.ownerId),
      scopes: normalizeScopes(request.scopes ?? []),
      metadata: input.validateMetadata(request.metadata),
      expiresAt: resolveExpiry(request.expiresAt, now, this.options),
      ...creditColumns(credits, now),
      ...rateLimitColumns(validateRateLimit(request.rateLimit)),
      allowedIps: storedAllowedIps(validateAllowedIps(request.allowedIps)),
    };
    const prefix = prefixFor(this.options, request.environment);
    const actor = request.actingAs;
    if (actor) {
      if (request.expiresAt === undefined) fields.expiresAt = defaultExpiryWithin(actor, fields.expiresAt);
      assertMayGrant(actor, { ...fields, environment: this.options.prefixes.get(prefix) ?? null }, this.options);
    }
    const { key, row } = createKey(fields, {
      prefix,
      entropyBits: this.options.entropyBits,
      keyTagger: this.options.keyTagger,
      now,
    });
    // A new key changes no cached row: unknown keys are never cached.
    const limit = this.options.maxKeysPerOwner;
    const insert = () =>
      this.unitOfWork.run(async (em) => {
        if (limit !== undefined && row.ownerId !== null)
          await assertOwnerBelowLimit(em, this.entity, row.ownerId, limit, new Date(now));
        await em.insert(this.entity, row as never);
        const details = {
          scopes: row.scopes,
          expiresAt: row.expiresAt,
          maxUses: row.remainingUses,
          refill: credits?.refill ?? null,
          rateLimit: request.rateLimit ?? null,
          allowedIps: fields.allowedIps !== null,
        };
        await this.audit.write(
          em,
          [{ keyId: row.id, ownerId: row.ownerId, type: 'issued', actor: request.actor, details }],
          now,
        );
      }, true);
    // Under maxKeysPerOwner, MySQL / MariaDB resolve racing first keys of an owner by a deadlock: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await insert();
        break;
      } catch (error) {
        if (attempt >= OWNER_LIMIT_ATTEMPTS || !isDeadlock(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
    return { key, record: toRecord(row) };
  }

  /**
   * Replaces a key by a successor with the same name, owner, scopes, metadata
   * and environment. The old key stays valid for `gracePeriodMs` (default:
   * revoked now) and records its successor. A revoked or already rotated key
   * cannot be rotated; of concurrent rotations of one key exactly one succeeds.
   */
  rotate(id: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    return this.rotation.rotate(id, options);
  }

  /**
   * Rotates the presented key (self-service renewal). A key that was already
   * rotated away revokes its whole rotation family (`reuse_detected`).
   */
  rotateByKey(key: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    return this.rotation.rotateByKey(key, options);
  }

  /**
   * Revokes a key now (also ending a rotation grace period). Revoking twice is
   * an error. With `actingAs`, only a key of an environment the actor bounds.
   */
  async revoke(id: string, reason?: string, { actor, actingAs }: ActingOptions = {}): Promise<ApiKeyRecord> {
    input.validateId(id);
    const checked = input.validateReason(reason);
    const check =
      actingAs && ((row: ApiKeyColumns) => assertMayManage(actingAs, this.environmentOf(row), this.options));
    const change = { revokedAt: new Date(), revokedReason: checked };
    return this.updateLive(id, change, 'revoked', actor, { reason: checked }, check);
  }

  /**
   * Replaces a live key's scopes; the next request sees them. With
   * `actingAs`, only scopes the actor holds, on a key it may manage (so a key
   * cannot widen its own scopes).
   */
  async updateScopes(id: string, scopes: string[], { actor, actingAs }: ActingOptions = {}): Promise<ApiKeyRecord> {
    input.validateId(id);
    const normalized = normalizeScopes(scopes);
    const check =
      actingAs &&
      ((row: ApiKeyColumns) =>
        assertMayGrant(
          actingAs,
          { scopes: normalized, environment: this.environmentOf(row), expiresAt: row.expiresAt },
          this.options,
        ));
    return this.updateLive(id, { scopes: normalized }, 'scopes_changed', actor, { scopes: normalized }, check);
  }

  /**
   * Disables a key, reversibly (unlike `revoke`): it gets the same 401 as any
   * invalid key (reason `disabled` in logs and events) until `enable`. With
   * `actingAs`, only a key of an environment the actor bounds.
   * @throws ApiKeyStateError when the key is revoked or already disabled
   */
  async disable(id: string, reason?: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.disable(id, reason, options);
    return this.get(id);
  }

  /**
   * Enables a disabled key; the next request passes again. With `actingAs`,
   * the actor must be able to issue the key (scopes, environment, lifetime).
   * @throws ApiKeyStateError when the key is revoked or not disabled
   */
  async enable(id: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.enable(id, options);
    return this.get(id);
  }

  /**
   * Changes a live key's `name`, `metadata`, `expiresAt` (within the expiry
   * policy), `rateLimit` or `allowedIps` in one transaction, with one
   * `updated` event naming the changed fields; the next request sees them.
   * With `actingAs`: a key the actor could issue, an expiry within its own,
   * and never its own rate limit or allowlist.
   * @throws ApiKeyValidationError, ApiKeyStateError (revoked), ApiKeyDelegationError
   */
  async update(id: string, patch: ApiKeyUpdate, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.update(id, patch, options);
    return this.get(id);
  }

  /**
   * Revokes every live key of an owner (an offboarded customer, a
   * compromised account) in one statement, with a `revoked` event per key.
   * Returns how many keys it revoked.
   */
  revokeAllForOwner(ownerId: string, reason?: string, { actor }: ActorOption = {}): Promise<number> {
    return this.controls.revokeAllForOwner(ownerId, reason, { actor });
  }

  /**
   * Adds credits to a key's balance (a billing integration's top-up): one
   * transaction with a `credits_added` event and the cache invalidated. A
   * rotation family has one balance, on its newest key: naming any key of the
   * family adds there. Returns the record of the key holding the balance.
   * @throws ApiKeyValidationError for a key without credits, or a bad amount
   * @example
   * await keys.addCredits(keyId, 1_000, { actor: 'billing' });
   */
  async addCredits(id: string, amount: number, { actor }: ActorOption = {}): Promise<ApiKeyRecord> {
    return this.get(await this.credits.add(id, amount, actor));
  }

  /**
   * Sets a key's balance to `remaining` (its refill, if any, stays): one
   * transaction with a `credits_set` event and the cache invalidated. A key
   * without credits gets a balance (no refill). Applies to the family's newest
   * key, as {@link addCredits}.
   * @example
   * await keys.setCredits(keyId, 0, { actor: 'billing' }); // unpaid: out of credits now
   */
  async setCredits(id: string, remaining: number, { actor }: ActorOption = {}): Promise<ApiKeyRecord> {
    return this.get(await this.credits.set(id, remaining, actor));
  }

  /**
   * Revokes a key given as plaintext, e.g. one a secret scanner found in a
   * public repository. Answers `unknown` for strings that are not one of our
   * keys, revealing nothing else.
   */
  async revokeByKey(key: string, reason = 'leaked', { actor }: ActorOption = {}): Promise<LeakedKeyResult> {
    if (environmentOf(key, this.options.prefixes) === undefined) return { status: 'unknown' };
    const row = await this.unitOfWork.run((em) =>
      em.findOne(this.entity, { where: { hash: hashApiKey(key) }, select: { id: true } }),
    );
    if (!row) return { status: 'unknown' };
    try {
      // A leak report: the revocation and a `leak_reported` event, in one transaction.
      const checked = input.validateReason(reason.slice(0, 255));
      await this.updateLive(
        row.id,
        { revokedAt: new Date(), revokedReason: checked },
        'revoked',
        actor,
        { reason: checked },
        undefined,
        'leak_reported',
      );
      return { status: 'revoked' };
    } catch (error) {
      if (error instanceof ApiKeyStateError) return { status: 'already_revoked' };
      throw error;
    }
  }

  /**
   * Deletes keys that expired or were revoked before `before`. Until then they
   * stay in the table, for audit. Their events stay. Returns how many keys went.
   */
  async purge(before: Date): Promise<number> {
    input.validatePurgeBefore(before, Date.now());
    const deleted = await this.unitOfWork.run((em) =>
      em.delete(this.entity, [{ expiresAt: LessThan(before) }, { revokedAt: LessThan(before) }]),
    );
    return deleted.affected ?? 0;
  }

  /** One key's record. @throws ApiKeyNotFoundError */
  async get(id: string): Promise<ApiKeyRecord> {
    input.validateId(id);
    const row = await this.unitOfWork.run((em) => em.findOne(this.entity, { where: { id }, select: RECORD_SELECT }));
    if (!row) throw new ApiKeyNotFoundError(id);
    return toRecord(row);
  }

  /** A page of keys, newest first, optionally of one owner. */
  async list(query: ListApiKeysQuery = {}): Promise<ApiKeyPage> {
    const { limit, offset } = input.validatePage(query);
    const base: FindOptionsWhere<ApiKeyColumns> = {};
    if (query.ownerId !== undefined) base.ownerId = input.validateOwnerId(query.ownerId) ?? IsNull();
    if (query.includeRevoked === false) base.revokedAt = IsNull();
    const where = statusWhere(base, query.status, new Date());
    // find + count rather than findAndCount: with a column selection, TypeORM
    // counts DISTINCT over a concatenation of every column, which NULLs break.
    const [rows, total] = await this.unitOfWork.run((em) =>
      Promise.all([
        em.find(this.entity, {
          where,
          select: RECORD_SELECT,
          order: { createdAt: 'DESC', id: 'ASC' },
          take: limit,
          skip: offset,
        }),
        em.count(this.entity, { where }),
      ]),
    );
    return { items: rows.map(toRecord), total, limit, offset };
  }

  /**
   * Live keys (not revoked, not rotated away) that expire within `within` ms
   * from now, the soonest first, optionally of one owner; a page (`limit`
   * 1-100, default 50).
   */
  async listExpiring(query: ListExpiringQuery): Promise<ApiKeyRecord[]> {
    if (!Number.isFinite(query?.within) || query.within <= 0)
      throw new ApiKeyValidationError('within must be a positive number of ms');
    const { limit, offset } = input.validatePage(query);
    const now = Date.now();
    const where: FindOptionsWhere<ApiKeyColumns> = {
      revokedAt: IsNull(),
      replacedById: IsNull(),
      expiresAt: And(MoreThan(new Date(now)), LessThanOrEqual(new Date(now + query.within))),
    };
    if (query.ownerId !== undefined) where.ownerId = input.validateOwnerId(query.ownerId) ?? IsNull();
    const rows = await this.unitOfWork.run((em) =>
      em.find(this.entity, {
        where,
        select: RECORD_SELECT,
        order: { expiresAt: 'ASC', id: 'ASC' },
        take: limit,
        skip: offset,
      }),
    );
    return rows.map(toRecord);
  }

  /**
   * Requests per bucket and outcome of one key, or of all an owner's keys, from
   * `from` to `to` (the `usage` option must be on). Counts are written behind:
   * the last flush interval's may not be there yet.
   */
  usage(query: ApiKeyUsageQuery): Promise<ApiKeyUsageSeries> {
    return this.usageReader.series(query);
  }

  /** Audit events of a key and/or an owner, newest first. */
  listEvents(query: ListApiKeyEventsQuery): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
    return this.audit.list(query);
  }

  /**
   * Checks a key outside HTTP (WebSocket gateways, microservices, CLIs) as the
   * guard does, and counts a use of a key with a use limit.
   * @throws ApiKeyStoreUnavailableError when the database cannot answer
   */
  async verify(key: string): Promise<ApiKeyVerification> {
    const result = await this.verifier.verify(key);
    return result.valid ? this.verifier.consumeUse(result.principal) : result;
  }

  /** The environment of a stored key. */
  private environmentOf(row: Pick<ApiKeyColumns, 'hint'>): string | null {
    return environmentOfHint(this.options, row.hint);
  }

  /**
   * One conditional UPDATE on a non-revoked key with its cache invalidation and
   * event, in one transaction, after `check` (a delegation check) accepted the locked row;
   * then the fresh record.
   */
  private async updateLive(
    id: string,
    change: Partial<ApiKeyColumns>,
    type: 'revoked' | 'scopes_changed',
    actor: string | undefined,
    details: Record<string, unknown>,
    check?: (row: ApiKeyColumns) => void,
    alsoType?: 'leak_reported',
  ): Promise<ApiKeyRecord> {
    const updated = await this.unitOfWork.run(async (em) => {
      const row = await em.findOne(this.entity, {
        where: { id },
        select: { id: true, ownerId: true, hint: true, scopes: true, expiresAt: true },
        lock: this.unitOfWork.writeLock,
      });
      if (!row) throw new ApiKeyNotFoundError(id);
      check?.(row);
      const result = await em.update(this.entity, { id, revokedAt: IsNull() }, change as never);
      if (result.affected !== 1) throw new ApiKeyStateError(id, 'revoked');
      await this.cache.changed(em, { ids: [id] });
      // A leak report comes first, then the revocation it caused (the newest event stays `revoked`).
      const events: ApiKeyEventInput[] = [{ keyId: id, ownerId: row.ownerId, type, actor, details }];
      if (alsoType) events.unshift({ keyId: id, ownerId: row.ownerId, type: alsoType, actor, details });
      await this.audit.write(em, events);
      return true;
    }, true);
    if (!updated) throw new ApiKeyNotFoundError(id);
    return this.get(id);
  }
}
