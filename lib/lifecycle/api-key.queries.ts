import { And, IsNull, LessThanOrEqual, MoreThan, Not, type FindOptionsWhere } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyNotFoundError, ApiKeyValidationError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import {
  RECORD_COLUMNS,
  toRecord,
  type ApiKeyPage,
  type ApiKeyRecord,
  type ListApiKeysQuery,
} from './api-key.record.js';
import type { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';

const RECORD_SELECT = Object.fromEntries(RECORD_COLUMNS.map((column) => [column, true]));

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

/** The reads behind `ApiKeyService.get`: one key's record. @throws ApiKeyNotFoundError */
export async function findRecord(
  unitOfWork: ApiKeyUnitOfWork,
  entity: typeof ApiKeyColumns,
  id: string,
): Promise<ApiKeyRecord> {
  input.validateId(id);
  const row = await unitOfWork.run((em) => em.findOne(entity, { where: { id }, select: RECORD_SELECT }));
  if (!row) throw new ApiKeyNotFoundError(id);
  return toRecord(row);
}

/** The reads behind `ApiKeyService.list`: a page of keys, newest first, optionally of one owner. */
export async function findPage(
  unitOfWork: ApiKeyUnitOfWork,
  entity: typeof ApiKeyColumns,
  query: ListApiKeysQuery,
): Promise<ApiKeyPage> {
  const { limit, offset } = input.validatePage(query);
  const base: FindOptionsWhere<ApiKeyColumns> = {};
  if (query.ownerId !== undefined) base.ownerId = input.validateOwnerId(query.ownerId) ?? IsNull();
  if (query.includeRevoked === false) base.revokedAt = IsNull();
  const where = statusWhere(base, query.status, new Date());
  // find + count rather than findAndCount: with a column selection, TypeORM
  // counts DISTINCT over a concatenation of every column, which NULLs break.
  const [rows, total] = await unitOfWork.run((em) =>
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
 * rotated away) that expire within `within` ms from now, the soonest first.
 */
export async function findExpiring(
  unitOfWork: ApiKeyUnitOfWork,
  entity: typeof ApiKeyColumns,
  query: ListExpiringQuery,
): Promise<ApiKeyRecord[]> {
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
  const rows = await unitOfWork.run((em) =>
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
