import { Inject, Injectable } from '@nestjs/common';
import { IsNull, LessThan, type FindOptionsWhere } from 'typeorm';
import { ApiKeyAuditLog, type ListApiKeyEventsQuery } from './api-key-audit.log.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { API_KEY_ENTITY, API_KEY_OPTIONS } from '../api-key.constants.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyFormatError, ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from '../api-key.errors.js';
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
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { resolveExpiry } from '../policies/expiry-policy.js';
import { createKey, environmentOfHint, prefixFor, validateMaxUses } from './key-factory.js';
import { assertMayGrant, assertMayManage, defaultExpiryWithin } from '../policies/delegation.js';
import { parseApiKey } from '../key/key-format.js';
import { hashApiKey } from '../key/key-hash.js';
import { normalizeScopes } from '../policies/scope-matcher.js';
import { validateRateLimit, type RateLimit } from '../policies/rate-limit.js';

const RECORD_SELECT = Object.fromEntries(RECORD_COLUMNS.map((column) => [column, true]));

function rateLimitColumns(rate: RateLimit | null): { rateLimitMax: number | null; rateLimitWindowMs: number | null } {
  return { rateLimitMax: rate?.limit ?? null, rateLimitWindowMs: rate?.windowMs ?? null };
}

/** Who acts, for the audit log. */
export interface ActorOption {
  actor?: string;
}

/**
 * Issues, rotates, revokes and lists API keys. Every change is one
 * transaction with its audit event (`api_key_events`), guarded by conditional
 * statements, so concurrent calls never leave two live successors or a
 * half-revoked key. Plaintext keys leave only through `issue` and `rotate`, once.
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
  ) {}

  /**
   * Creates a key. The plaintext is in the result and nowhere else. With
   * `actingAs`, the new key must be within the acting key's scopes,
   * environment and lifetime (a default expiry is held to the actor's).
   * @throws ApiKeyDelegationError when `actingAs` may not issue it
   */
  async issue(request: IssueApiKeyInput): Promise<IssuedApiKey> {
    const now = Date.now();
    const fields = {
      name: input.validateName(request?.name),
      ownerId: input.validateOwnerId(request.ownerId),
      scopes: normalizeScopes(request.scopes ?? []),
      metadata: input.validateMetadata(request.metadata),
      expiresAt: resolveExpiry(request.expiresAt, now, this.options),
      remainingUses: validateMaxUses(request.maxUses),
      ...rateLimitColumns(validateRateLimit(request.rateLimit)),
    };
    const prefix = prefixFor(this.options, request.environment);
    const actor = request.actingAs;
    if (actor) {
      if (request.expiresAt === undefined) fields.expiresAt = defaultExpiryWithin(actor, fields.expiresAt);
      assertMayGrant(actor, { ...fields, environment: this.options.prefixes.get(prefix) ?? null }, this.options);
    }
    const { key, row } = createKey(fields, { prefix, entropyBits: this.options.entropyBits, now });
    await this.unitOfWork.run(async (em) => {
      await em.insert(this.entity, row as never);
      const details = {
        scopes: row.scopes,
        expiresAt: row.expiresAt,
        maxUses: row.remainingUses,
        rateLimit: request.rateLimit ?? null,
      };
      await this.audit.write(
        em,
        [{ keyId: row.id, ownerId: row.ownerId, type: 'issued', actor: request.actor, details }],
        now,
      );
    }, true);
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
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 255)) {
      throw new ApiKeyValidationError('reason must be a string of at most 255 characters');
    }
    const check =
      actingAs && ((row: ApiKeyColumns) => assertMayManage(actingAs, this.environmentOf(row), this.options));
    const change = { revokedAt: new Date(), revokedReason: reason ?? null };
    return this.updateLive(id, change, 'revoked', actor, { reason: reason ?? null }, check);
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
   * Revokes a key given as plaintext, e.g. one a secret scanner found in a
   * public repository. Answers `unknown` for strings that are not one of our
   * keys, revealing nothing else.
   */
  async revokeByKey(key: string, reason = 'leaked', { actor }: ActorOption = {}): Promise<LeakedKeyResult> {
    try {
      if (!this.options.prefixes.has(parseApiKey(key).prefix)) return { status: 'unknown' };
    } catch (error) {
      if (error instanceof ApiKeyFormatError) return { status: 'unknown' };
      throw error;
    }
    const row = await this.unitOfWork.run((em) =>
      em.findOne(this.entity, { where: { hash: hashApiKey(key) }, select: { id: true } }),
    );
    if (!row) return { status: 'unknown' };
    try {
      await this.revoke(row.id, reason.slice(0, 255), { actor });
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
    if (!(before instanceof Date) || Number.isNaN(before.getTime()) || before.getTime() > Date.now()) {
      throw new ApiKeyValidationError('before must be a valid Date, not in the future');
    }
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
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new ApiKeyValidationError('limit must be an integer from 1 to 100');
    if (!Number.isInteger(offset) || offset < 0)
      throw new ApiKeyValidationError('offset must be a non-negative integer');
    const where: FindOptionsWhere<ApiKeyColumns> = {};
    if (query.ownerId !== undefined) where.ownerId = input.validateOwnerId(query.ownerId) ?? IsNull();
    if (query.includeRevoked === false) where.revokedAt = IsNull();
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
   * One conditional UPDATE on a non-revoked key with its event, in one
   * transaction, after `check` (a delegation check) accepted the locked row;
   * then the fresh record.
   */
  private async updateLive(
    id: string,
    change: Partial<ApiKeyColumns>,
    type: 'revoked' | 'scopes_changed',
    actor: string | undefined,
    details: Record<string, unknown>,
    check?: (row: ApiKeyColumns) => void,
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
      await this.audit.write(em, [{ keyId: id, ownerId: row.ownerId, type, actor, details }]);
      return true;
    }, true);
    if (!updated) throw new ApiKeyNotFoundError(id);
    return this.get(id);
  }
}
