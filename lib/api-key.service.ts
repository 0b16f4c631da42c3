import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { IsNull, LessThan, type DataSource, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { API_KEY_DATA_SOURCE, API_KEY_ENTITY, API_KEY_OPTIONS } from './api-key.constants.js';
import type { ApiKeyColumns } from './api-key.entity.js';
import { ApiKeyFormatError, ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from './api-key.errors.js';
import { ApiKeyUnitOfWork } from './api-key.unit-of-work.js';
import * as input from './api-key.input.js';
import { ResolvedApiKeyOptions } from './api-key.options.js';
import type { ApiKeyVerification } from './api-key.principal.js';
import {
  RECORD_COLUMNS,
  toRecord,
  type ApiKeyPage,
  type ApiKeyRecord,
  type IssueApiKeyInput,
  type IssuedApiKey,
  type LeakedKeyResult,
  type ListApiKeysQuery,
  type RotateApiKeyOptions,
  type RotatedApiKey,
} from './api-key.record.js';
import { ApiKeyVerifier } from './api-key.verifier.js';
import { generateApiKey, hintOf, parseApiKey } from './key-format.js';
import { hashApiKey } from './key-hash.js';
import { normalizeScopes } from './scope-matcher.js';
import { resolveExpiry } from './expiry-policy.js';

const RECORD_SELECT = Object.fromEntries(RECORD_COLUMNS.map((column) => [column, true]));

type NewKeyFields = Pick<ApiKeyColumns, 'name' | 'ownerId' | 'scopes' | 'metadata' | 'expiresAt'>;

/**
 * Issues, rotates, revokes and lists API keys. Every change is one conditional
 * statement or one transaction, so concurrent calls never leave two live
 * successors or a half-revoked key. Plaintext keys leave only through
 * `issue` and `rotate`, once.
 */
@Injectable()
export class ApiKeyService {
  private readonly unitOfWork: ApiKeyUnitOfWork;

  constructor(
    @Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(API_KEY_ENTITY) private readonly entity: typeof ApiKeyColumns,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly verifier: ApiKeyVerifier,
  ) {
    this.unitOfWork = new ApiKeyUnitOfWork(dataSource);
  }

  /** Creates a key. The plaintext is in the result and nowhere else. */
  async issue(request: IssueApiKeyInput): Promise<IssuedApiKey> {
    const now = Date.now();
    const fields: NewKeyFields = {
      name: input.validateName(request?.name),
      ownerId: input.validateOwnerId(request.ownerId),
      scopes: normalizeScopes(request.scopes ?? []),
      metadata: input.validateMetadata(request.metadata),
      expiresAt: resolveExpiry(request.expiresAt, now, this.options),
    };
    const { key, row } = this.newKey(fields, now, this.prefixFor(request.environment));
    await this.unitOfWork.run((em) => em.insert(this.entity, row as never));
    return { key, record: toRecord(row) };
  }

  /**
   * Replaces a key by a successor with the same name, owner, scopes and
   * metadata. The old key stays valid for `gracePeriodMs` (default: revoked
   * now) and records its successor. A revoked or already rotated key cannot be
   * rotated; of concurrent rotations of one key exactly one succeeds.
   */
  async rotate(id: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    input.validateId(id);
    const grace = input.validateGracePeriod(options.gracePeriodMs);
    const now = Date.now();
    if (options.expiresAt !== undefined) resolveExpiry(options.expiresAt, now, this.options);
    return this.unitOfWork.run(async (em) => {
      const old = await this.findLive(em, id, now);
      const lifetime = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : null;
      const expiresAt = options.expiresAt !== undefined ? options.expiresAt : lifetime ? new Date(now + lifetime) : undefined;
      const { key, row } = this.newKey(
        {
          name: old.name,
          ownerId: old.ownerId,
          scopes: old.scopes,
          metadata: old.metadata,
          expiresAt: resolveExpiry(expiresAt, now, this.options),
        },
        now,
        old.hint.slice(0, old.hint.lastIndexOf('_')), // the same prefix, so the same environment
      );
      const change: Partial<ApiKeyColumns> =
        grace > 0
          ? { replacedById: row.id, expiresAt: new Date(Math.min(now + grace, old.expiresAt?.getTime() ?? Infinity)) }
          : { replacedById: row.id, revokedAt: new Date(now), revokedReason: 'rotated' };
      // The condition makes the claim atomic: a concurrent rotation or revocation
      // that got there first leaves nothing to update, and this one fails.
      const claimed = await em.update(this.entity, { id, revokedAt: IsNull(), replacedById: IsNull() }, change as never);
      if (claimed.affected !== 1) throw new ApiKeyStateError(id, 'rotated');
      await em.insert(this.entity, row as never);
      return { key, record: toRecord(row), previous: toRecord({ ...old, ...change }) };
    }, true);
  }

  /** Revokes a key now (also ending a rotation grace period). Revoking twice is an error. */
  async revoke(id: string, reason?: string): Promise<ApiKeyRecord> {
    input.validateId(id);
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 255)) {
      throw new ApiKeyValidationError('reason must be a string of at most 255 characters');
    }
    const change = { revokedAt: new Date(), revokedReason: reason ?? null };
    return this.updateLive(id, change);
  }

  /**
   * Revokes a key given as plaintext, e.g. one a secret scanner found in a
   * public repository. Answers `unknown` for strings that are not one of our
   * live or revoked keys, revealing nothing else.
   */
  async revokeByKey(key: string, reason = 'leaked'): Promise<LeakedKeyResult> {
    try {
      if (!this.options.prefixes.has(parseApiKey(key).prefix)) return { status: 'unknown' };
    } catch (error) {
      if (error instanceof ApiKeyFormatError) return { status: 'unknown' };
      throw error;
    }
    const hash = hashApiKey(key);
    const updated = await this.unitOfWork.run((em) =>
      em.update(this.entity, { hash, revokedAt: IsNull() }, { revokedAt: new Date(), revokedReason: reason.slice(0, 255) } as never),
    );
    if (updated.affected === 1) return { status: 'revoked' };
    const exists = await this.unitOfWork.run((em) => em.exists(this.entity, { where: { hash } }));
    return { status: exists ? 'already_revoked' : 'unknown' };
  }

  /**
   * Deletes keys that expired or were revoked before `before`. Until then they
   * stay in the table, for audit. Returns how many rows went.
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

  /** Replaces a live key's scopes; the next request sees them. */
  async updateScopes(id: string, scopes: string[]): Promise<ApiKeyRecord> {
    input.validateId(id);
    return this.updateLive(id, { scopes: normalizeScopes(scopes) });
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
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ApiKeyValidationError('limit must be an integer from 1 to 100');
    if (!Number.isInteger(offset) || offset < 0) throw new ApiKeyValidationError('offset must be a non-negative integer');
    const where: FindOptionsWhere<ApiKeyColumns> = {};
    if (query.ownerId !== undefined) where.ownerId = input.validateOwnerId(query.ownerId) ?? IsNull();
    if (query.includeRevoked === false) where.revokedAt = IsNull();
    // find + count rather than findAndCount: with a column selection, TypeORM
    // counts DISTINCT over a concatenation of every column, which NULLs break.
    const [rows, total] = await this.unitOfWork.run((em) =>
      Promise.all([
        em.find(this.entity, { where, select: RECORD_SELECT, order: { createdAt: 'DESC', id: 'ASC' }, take: limit, skip: offset }),
        em.count(this.entity, { where }),
      ]),
    );
    return { items: rows.map(toRecord), total, limit, offset };
  }

  /**
   * Checks a key outside HTTP (WebSocket gateways, microservices, CLIs) exactly
   * as the guard does.
   * @throws ApiKeyStoreUnavailableError when the database cannot answer
   */
  verify(key: string): Promise<ApiKeyVerification> {
    return this.verifier.verify(key);
  }

  /** The key prefix of an environment; the first configured one by default. */
  private prefixFor(environment: unknown): string {
    const { environments, prefix } = this.options;
    if (environment === undefined) return environments.length ? `${prefix}_${environments[0]}` : prefix;
    if (typeof environment !== 'string' || !environments.includes(environment)) {
      throw new ApiKeyValidationError(
        environments.length ? `environment must be one of ${environments.join(', ')}` : 'no environments are configured',
      );
    }
    return `${prefix}_${environment}`;
  }

  private newKey(fields: NewKeyFields, now: number, prefix: string): { key: string; row: ApiKeyColumns } {
    const key = generateApiKey({ prefix, entropyBits: this.options.entropyBits });
    const row: ApiKeyColumns = {
      id: randomUUID(),
      ...fields,
      hint: hintOf(parseApiKey(key)),
      hash: hashApiKey(key),
      createdAt: new Date(now),
      revokedAt: null,
      revokedReason: null,
      lastUsedAt: null,
      replacedById: null,
    };
    return { key, row };
  }

  /** Reads a key that may still change: exists, not revoked, not rotated, not expired. */
  private async findLive(em: EntityManager, id: string, now: number): Promise<ApiKeyColumns> {
    const lock = this.dataSource.options.type.includes('sqlite') ? undefined : ({ mode: 'pessimistic_write' } as const);
    const old = await em.findOne(this.entity, { where: { id }, lock });
    if (!old) throw new ApiKeyNotFoundError(id);
    if (old.replacedById) throw new ApiKeyStateError(id, 'rotated');
    if (old.revokedAt) throw new ApiKeyStateError(id, 'revoked');
    if (old.expiresAt && old.expiresAt.getTime() <= now) throw new ApiKeyValidationError(`API key ${id} has expired`);
    return old;
  }

  /** One conditional UPDATE on a non-revoked key, then the fresh record. */
  private async updateLive(id: string, change: Partial<ApiKeyColumns>): Promise<ApiKeyRecord> {
    const updated = await this.unitOfWork.run((em) => em.update(this.entity, { id, revokedAt: IsNull() }, change as never));
    if (updated.affected !== 1) {
      await this.get(id); // throws not found
      throw new ApiKeyStateError(id, 'revoked');
    }
    return this.get(id);
  }
}
