import { IsNull, MoreThan, type EntityManager, type FindOptionsWhere } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyLimitError, ApiKeyStoreUnavailableError } from '../api-key.errors.js';

/** How many times an issue that lost a MySQL / MariaDB deadlock is tried again. */
export const OWNER_LIMIT_ATTEMPTS = 50;

/** The owner's keys that count against `maxKeysPerOwner`: not revoked, not rotated away, not expired. */
export function liveKeysOf(ownerId: string, now: Date): FindOptionsWhere<ApiKeyColumns>[] {
  const live = { ownerId, revokedAt: IsNull(), replacedById: IsNull() };
  return [
    { ...live, expiresAt: IsNull() },
    { ...live, expiresAt: MoreThan(now) },
  ];
}

/**
 * Refuses a new key for an owner who already holds `limit` live keys, inside
 * the issuing transaction and serialized per owner, so concurrent issues
 * never go past the limit:
 * - PostgreSQL: a transaction-scoped advisory lock on (table, owner), then the count;
 * - MySQL / MariaDB: the count as a locking read (`FOR UPDATE`) on the owner's
 *   index range, which also locks the gap new rows would go in; two issues that
 *   both found no row deadlock on insert, and InnoDB rolls one back
 *   ({@link isDeadlock}: the caller tries it again);
 * - SQLite: writes are serialized already.
 * @throws ApiKeyLimitError
 */
export async function assertOwnerBelowLimit(
  em: EntityManager,
  entity: typeof ApiKeyColumns,
  ownerId: string,
  limit: number,
  now: Date,
): Promise<void> {
  const type = em.connection.options.type;
  const table = em.connection.getMetadata(entity).tablePath;
  if (type === 'postgres') {
    await em.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${table}:${ownerId}`]);
  }
  const locking = type === 'mysql' || type === 'mariadb';
  const count = await em.count(entity, {
    where: liveKeysOf(ownerId, now),
    ...(locking ? { lock: { mode: 'pessimistic_write' as const } } : {}),
  });
  if (count >= limit) throw new ApiKeyLimitError(ownerId, limit);
}

/** True for a MySQL / MariaDB deadlock (errno 1213), which InnoDB resolved by rolling this transaction back. */
export function isDeadlock(error: unknown): boolean {
  if (!(error instanceof ApiKeyStoreUnavailableError)) return false;
  const cause = error.cause as { errno?: number; driverError?: { errno?: number } } | undefined;
  return (cause?.errno ?? cause?.driverError?.errno) === 1213;
}
