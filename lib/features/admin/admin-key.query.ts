import { BadRequestException } from '@nestjs/common';
import {
  API_KEY_STATUSES,
  apiKeyStatus,
  type ActingOptions,
  type ApiKeyRecord,
  type ApiKeyStatus,
} from '../../lifecycle/api-key.record.js';
import type { ApiKeyService } from '../../lifecycle/api-key.service.js';

/** A key's state as the console shows and filters it: the service's ({@link apiKeyStatus}). */
export type AdminKeyStatus = ApiKeyStatus;
/** The list's status filter: a state, or `expiring` (active, expiring within {@link EXPIRING_SOON_MS}). */
export type AdminStatusFilter = AdminKeyStatus | 'expiring';
/** Columns the list sorts by. */
export type AdminSortColumn = 'createdAt' | 'name' | 'ownerId' | 'expiresAt' | 'lastUsedAt';

/** "Expiring soon" means within 7 days. */
export const EXPIRING_SOON_MS = 7 * 24 * 3_600_000;
/** The most keys one search reads (newest first); beyond that the answer says `truncated`. */
export const ADMIN_SCAN_LIMIT = 5_000;

const STATUSES: readonly AdminStatusFilter[] = [...API_KEY_STATUSES, 'expiring'];
const SORTS: readonly AdminSortColumn[] = ['createdAt', 'name', 'ownerId', 'expiresAt', 'lastUsedAt'];

/** A checked list query. */
export interface AdminKeyQuery {
  readonly q?: string;
  readonly status?: AdminStatusFilter;
  readonly ownerId?: string;
  readonly sort: AdminSortColumn;
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  readonly offset: number;
}

/** A record with the state the console computed for it. */
export type AdminKeyRow = ApiKeyRecord & { readonly status: AdminKeyStatus; readonly expiringSoon: boolean };

/** One page of the console's list. */
export interface AdminKeyPage {
  readonly items: AdminKeyRow[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
  /** True when more than {@link ADMIN_SCAN_LIMIT} keys exist and only the newest were searched. */
  readonly truncated: boolean;
}

/** The state of a key at `now` ({@link apiKeyStatus}), and whether it expires soon. */
export function keyStatus(record: ApiKeyRecord, now = Date.now()): AdminKeyRow {
  const status = apiKeyStatus(record, now);
  const expiringSoon =
    status === 'active' && record.expiresAt !== null && new Date(record.expiresAt).getTime() - now <= EXPIRING_SOON_MS;
  return { ...record, status, expiringSoon };
}

function one(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 255) throw new BadRequestException(`${name} must be a short string`);
  return raw;
}

function integer(raw: unknown, name: string, fallback: number, min: number, max: number): number {
  const text = one(raw, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new BadRequestException(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Checks the query string of `GET <path>/api/keys`. @throws BadRequestException */
export function parseAdminKeyQuery(raw: Record<string, unknown>): AdminKeyQuery {
  const status = one(raw.status, 'status');
  if (status !== undefined && !STATUSES.includes(status as AdminStatusFilter)) {
    throw new BadRequestException(`status must be one of ${STATUSES.join(', ')}`);
  }
  const sort = one(raw.sort, 'sort') ?? 'createdAt';
  if (!SORTS.includes(sort as AdminSortColumn))
    throw new BadRequestException(`sort must be one of ${SORTS.join(', ')}`);
  const order = one(raw.order, 'order') ?? (sort === 'createdAt' ? 'desc' : 'asc');
  if (order !== 'asc' && order !== 'desc') throw new BadRequestException('order must be asc or desc');
  return {
    q: one(raw.q, 'q')?.trim().toLowerCase() || undefined,
    status: status as AdminStatusFilter | undefined,
    ownerId: one(raw.ownerId, 'ownerId'),
    sort: sort as AdminSortColumn,
    order,
    limit: integer(raw.limit, 'limit', 25, 1, 100),
    offset: integer(raw.offset, 'offset', 0, 0, 1_000_000),
  };
}

function matches(row: AdminKeyRow, query: AdminKeyQuery): boolean {
  if (query.status === 'expiring' ? !row.expiringSoon : query.status && row.status !== query.status) return false;
  if (!query.q) return true;
  return [row.name, row.ownerId ?? '', row.hint].some((field) => field.toLowerCase().includes(query.q!));
}

function compare(column: AdminSortColumn, order: 'asc' | 'desc'): (a: AdminKeyRow, b: AdminKeyRow) => number {
  const sign = order === 'asc' ? 1 : -1;
  const value = (row: AdminKeyRow): string | number | null => {
    const field = row[column];
    if (field === null || field === undefined) return null;
    return field instanceof Date || column.endsWith('At') ? new Date(field as Date).getTime() : String(field);
  };
  return (a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x === y) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    if (x === null) return 1; // empty values last, whatever the order
    if (y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  };
}

/**
 * Answers the console's list: search by name, owner or hint, filter by
 * status, sort, page. Reads the keys through `ApiKeyService.list()` (newest
 * first, 100 a statement, at most {@link ADMIN_SCAN_LIMIT}) and filters in
 * memory; the plain newest-first listing is one `list()` call. With
 * `acting.actingAs`, only keys that key reaches (the service filters them).
 */
export async function searchKeys(
  service: ApiKeyService,
  query: AdminKeyQuery,
  acting: ActingOptions = {},
): Promise<AdminKeyPage> {
  const now = Date.now();
  const { limit, offset } = query;
  // The states the service filters by go to list({ status }); `expiring` is computed here.
  const status = query.status === 'expiring' ? 'active' : query.status;
  if (!query.q && query.status !== 'expiring' && query.sort === 'createdAt' && query.order === 'desc') {
    const page = await service.list({ ownerId: query.ownerId, status, limit, offset }, acting);
    return { ...page, items: page.items.map((record) => keyStatus(record, now)), truncated: false };
  }
  const rows: AdminKeyRow[] = [];
  let truncated = false;
  for (let read = 0; ;) {
    const page = await service.list({ ownerId: query.ownerId, status, limit: 100, offset: read }, acting);
    rows.push(...page.items.map((record) => keyStatus(record, now)));
    read += page.items.length;
    if (page.items.length < 100 || read >= page.total) break;
    if (read >= ADMIN_SCAN_LIMIT) {
      truncated = true;
      break;
    }
  }
  const found = rows.filter((row) => matches(row, query)).sort(compare(query.sort, query.order));
  return { items: found.slice(offset, offset + limit), total: found.length, limit, offset, truncated };
}
