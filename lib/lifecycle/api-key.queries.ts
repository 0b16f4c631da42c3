import { And, IsNull, LessThanOrEqual, MoreThan, Not, Raw, type FindOptionsWhere } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyDelegationError, ApiKeyNotFoundError, ApiKeyValidationError } from '../api-key.errors.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import * as input from '../policies/api-key.input.js';
import { assertMayManage, readBounds, type ReadBounds } from '../policies/delegation.js';
import {
  API_KEY_STATUSES,
  RECORD_COLUMNS,
  toRecord,
  type ActingOptions,
  type ApiKeyPage,
  type ApiKeyRecord,
  type ListApiKeysQuery,
} from './api-key.record.js';
import type { ApiKeyDatabase } from '../storage/api-key.database.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { boundsWhere, managedKeyOf } from './acting-key.js';

const RECORD_SELECT = Object.fromEntries(RECORD_COLUMNS.map((column) => [column, true]));

/** The path of another column of the same row, from the path TypeORM hands a `Raw` (`<alias>.<property>`). */
function sibling(path: string, property: keyof ApiKeyColumns): string {
  return `${path.slice(0, path.lastIndexOf('.'))}.${property}`;
}

/** SQL: a refill is configured and due at `:statusNowMs` (as `availableCredits` computes it), on `remainingUses`' path. */
function refillDue(uses: string): string {
  const [amount, interval, at] = (['refillAmount', 'refillIntervalMs', 'refilledAtMs'] as const).map((column) =>
    sibling(uses, column),
  );
  return `${amount} IS NOT NULL AND ${interval} IS NOT NULL AND ${at} IS NOT NULL AND ${at} <= :statusNowMs - ${interval}`;
}

/**
 * The conditions of `list({ status })` on top of `base` (several = OR), the
 * SQL of `apiKeyStatus`: each key matches exactly one state, by its
 * precedence (revoked, disabled, expired, used-up, active); a key in its
 * grace period is judged without its balance, which its successor holds.
 */
function statusWhere(
  base: FindOptionsWhere<ApiKeyColumns>,
  status: unknown,
  now: Date,
): FindOptionsWhere<ApiKeyColumns> | FindOptionsWhere<ApiKeyColumns>[] {
  const live = { ...base, revokedAt: IsNull() };
  const enabled = { ...live, disabledAt: IsNull() };
  const unexpired = [
    { ...enabled, expiresAt: IsNull() },
    { ...enabled, expiresAt: MoreThan(now) },
  ];
  const at = { statusNowMs: now.getTime() };
  switch (status) {
    case undefined:
      return base;
    case 'active': {
      // A key in its grace period spends from its successor: its own balance (0) does not count.
      const usable = Raw(
        (uses) =>
          `(${uses} IS NULL OR ${uses} > 0 OR ${sibling(uses, 'replacedById')} IS NOT NULL OR (${refillDue(uses)}))`,
        at,
      );
      return unexpired.map((where) => ({ ...where, remainingUses: usable }));
    }
    case 'used-up': {
      const none = Raw((uses) => `(${uses} <= 0 AND NOT (${refillDue(uses)}))`, at);
      return unexpired.map((where) => ({ ...where, replacedById: IsNull(), remainingUses: none }));
    }
    case 'disabled':
      return { ...live, disabledAt: Not(IsNull()) };
    case 'revoked':
      return { ...base, revokedAt: Not(IsNull()) };
    case 'expired':
      return { ...enabled, expiresAt: LessThanOrEqual(now) };
    default:
      throw new ApiKeyValidationError(`status must be one of ${API_KEY_STATUSES.join(', ')}`);
  }
}

/** What the reads work with: the setup's database and options. */
export interface QueryDeps {
  readonly db: ApiKeyDatabase;
  readonly options: ResolvedApiKeyOptions;
}

/** Query of `ApiKeyService.listEvents`: by key, by owner, or both. */
export interface ListApiKeyEventsQuery {
  keyId?: string;
  ownerId?: string;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  offset?: number;
}

/**
 * The reads of the service: records, pages, expiring keys and the audit trail, each held to `actingAs` (when
 * given) as a change would be. Every read runs on the primary under replication, so a read right after a change
 * shows it.
 */
export class KeyQueries {
  constructor(private readonly deps: QueryDeps) {}

  /** One key's record. @throws ApiKeyNotFoundError, ApiKeyDelegationError */
  get(id: string, acting: ActingOptions = {}): Promise<ApiKeyRecord> {
    return findRecord(this.deps, id, acting);
  }

  /** A page of keys, newest first. @throws ApiKeyDelegationError (`owner`) */
  list(query: ListApiKeysQuery, acting: ActingOptions = {}): Promise<ApiKeyPage> {
    return findPage(this.deps, query, acting);
  }

  /** Live keys expiring within `within` ms, the soonest first. */
  listExpiring(query: ListExpiringQuery, acting: ActingOptions = {}): Promise<ApiKeyRecord[]> {
    return findExpiring(this.deps, query, acting);
  }

  /** Audit events of a key and/or an owner, newest first. @throws ApiKeyDelegationError */
  async listEvents(
    query: ListApiKeyEventsQuery,
    acting: ActingOptions = {},
  ): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
    return findEvents(this.deps, await eventsQueryWithin(this.deps, query, acting));
  }

  /** The bounds of a read of events or usage by `actingAs` ({@link trailBounds}). */
  trailBounds(query: { keyId?: string; ownerId?: string }, acting: ActingOptions): Promise<ReadBounds> {
    return trailBounds(this.deps, query, acting);
  }
}

/**
 * The conditions a listing by `actingAs` is held to (its owner, its
 * environment; nothing without `actingAs`), with `ownerId` the owner the
 * query names (checked, `null` for keys without one).
 * @throws ApiKeyDelegationError (`owner`) when the query names an owner `actingAs` does not reach
 */
function listingWhere(deps: QueryDeps, ownerId: string | null | undefined, { actingAs }: ActingOptions) {
  return actingAs ? boundsWhere(deps.options, readBounds(actingAs, ownerId, deps.options)) : {};
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

/**
 * The reads behind `ApiKeyService.get`: one key's record, if `actingAs`
 * (when given) reaches it, as it would to change it.
 * @throws ApiKeyNotFoundError, ApiKeyDelegationError
 */
async function findRecord(deps: QueryDeps, id: string, { actingAs }: ActingOptions = {}): Promise<ApiKeyRecord> {
  const { db, options } = deps;
  input.validateId(id);
  const row = await db.run((em) => em.findOne(db.keys, { where: { id }, select: RECORD_SELECT }));
  if (!row) throw new ApiKeyNotFoundError(id);
  if (actingAs) assertMayManage(actingAs, managedKeyOf(options, row), options);
  return toRecord(row);
}

/**
 * The bounds of a read of events or usage by `actingAs`: a key it names must
 * be one it reaches ({@link findRecord}); an owner it names, one it reaches;
 * without a key, the owner and environment it is bound to ({@link readBounds}).
 * Nothing without `actingAs`.
 * @throws ApiKeyNotFoundError, ApiKeyDelegationError
 */
async function trailBounds(
  deps: QueryDeps,
  query: { keyId?: string; ownerId?: string },
  acting: ActingOptions,
): Promise<ReadBounds> {
  const { actingAs } = acting;
  if (!actingAs) return {};
  if (query.keyId !== undefined) await findRecord(deps, query.keyId, acting);
  const bounds = readBounds(actingAs, query.ownerId, deps.options);
  return query.keyId !== undefined ? {} : bounds;
}

/**
 * The query `ApiKeyService.listEvents` runs for `actingAs` ({@link trailBounds}):
 * its owner's events when it is bound to one; a key of another than the
 * primary environment reads events key by key (events carry no environment).
 * @throws ApiKeyNotFoundError, ApiKeyDelegationError
 */
async function eventsQueryWithin(
  deps: QueryDeps,
  query: ListApiKeyEventsQuery,
  acting: ActingOptions,
): Promise<ListApiKeyEventsQuery> {
  const bounds = await trailBounds(deps, query ?? {}, acting);
  if (bounds.environment !== undefined) {
    throw new ApiKeyDelegationError(
      'environment',
      `API key ${acting.actingAs!.id} (${bounds.environment} environment) reads events key by key: give keyId`,
    );
  }
  return bounds.ownerId === undefined ? query : { ...query, ownerId: bounds.ownerId };
}

/** The reads behind `ApiKeyService.list`: a page of keys, newest first, optionally of one owner, within `actingAs`. */
async function findPage(deps: QueryDeps, query: ListApiKeysQuery, acting: ActingOptions = {}): Promise<ApiKeyPage> {
  const { db } = deps;
  const entity = db.keys;
  const { limit, offset } = input.validatePage(query);
  const base: FindOptionsWhere<ApiKeyColumns> = {};
  const ownerId = query.ownerId === undefined ? undefined : input.validateOwnerId(query.ownerId);
  if (ownerId !== undefined) base.ownerId = ownerId ?? IsNull();
  Object.assign(base, listingWhere(deps, ownerId, acting));
  if (query.includeRevoked === false) base.revokedAt = IsNull();
  const where = statusWhere(base, query.status, new Date());
  // find + count rather than findAndCount: with a column selection, TypeORM
  // counts DISTINCT over a concatenation of every column, which NULLs break.
  const [rows, total] = await db.run((em) =>
    Promise.all([
      em.find(entity, {
        where,
        select: RECORD_SELECT,
        order: { createdAt: 'DESC', id: 'ASC' },
        take: limit,
        skip: offset,
      }),
      em.count(entity, { where }),
    ]),
  );
  return { items: rows.map(toRecord), total, limit, offset };
}

/**
 * The reads behind `ApiKeyService.listExpiring`: live keys (not revoked, not
 * rotated away) that expire within `within` ms from now, the soonest first,
 * within `actingAs`.
 */
async function findExpiring(
  deps: QueryDeps,
  query: ListExpiringQuery,
  acting: ActingOptions = {},
): Promise<ApiKeyRecord[]> {
  const { db } = deps;
  const entity = db.keys;
  if (!Number.isFinite(query?.within) || query.within <= 0)
    throw new ApiKeyValidationError('within must be a positive number of ms');
  const { limit, offset } = input.validatePage(query);
  const now = Date.now();
  const where: FindOptionsWhere<ApiKeyColumns> = {
    revokedAt: IsNull(),
    replacedById: IsNull(),
    expiresAt: And(MoreThan(new Date(now)), LessThanOrEqual(new Date(now + query.within))),
  };
  const ownerId = query.ownerId === undefined ? undefined : input.validateOwnerId(query.ownerId);
  if (ownerId !== undefined) where.ownerId = ownerId ?? IsNull();
  Object.assign(where, listingWhere(deps, ownerId, acting));
  const rows = await db.run((em) =>
    em.find(entity, {
      where,
      select: RECORD_SELECT,
      order: { expiresAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    }),
  );
  return rows.map(toRecord);
}

/** Events of a key and/or an owner, newest first, read on the primary. */
async function findEvents(
  { db }: QueryDeps,
  query: ListApiKeyEventsQuery,
): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
  const { limit, offset } = input.validateEventsQuery(query);
  const where: FindOptionsWhere<ApiKeyEventColumns> = {};
  if (query.keyId !== undefined) where.keyId = query.keyId;
  if (query.ownerId !== undefined) where.ownerId = query.ownerId;
  const [items, total] = await db.run((em) =>
    Promise.all([
      em.find(db.events, { where, order: { at: 'DESC', id: 'DESC' }, take: limit, skip: offset }),
      em.count(db.events, { where }),
    ]),
  );
  return { items, total };
}
