import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { hashApiKey } from '../../key/key-hash.js';
import type { ApiKeyColumns } from '../../storage/api-key.entity.js';
import type { ImportCandidate } from './import-sources.js';

/** Rows per INSERT: TypeORM's cost per statement grows faster than its rows; 50 measured best in bench/import.ts. */
export const ROWS_PER_INSERT = 50;

/** Inserts `rows` {@link ROWS_PER_INSERT} per statement. */
export async function insertInChunks<T extends object>(
  em: EntityManager,
  entity: abstract new () => T,
  rows: T[],
): Promise<void> {
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT)
    await em.insert(entity as never, rows.slice(at, at + ROWS_PER_INSERT) as never);
}

/** SHA-256 of what a row imports: a re-run tells a changed row by it. */
export function fingerprintOf(candidate: ImportCandidate): string {
  return hashApiKey(JSON.stringify(candidate));
}

/**
 * The key row of a candidate. Its hint starts with the native prefix of the format's environment (what its
 * rotation issues, what environment bounds read), then the format's name and the start the source kept.
 */
export function keyRow(candidate: ImportCandidate, prefix: string, formatName: string, now: number): ApiKeyColumns {
  const id = randomUUID();
  const createdAt = candidate.createdAt ?? new Date(now);
  const start = candidate.display.replace(/_/g, '-').replace(/[^A-Za-z0-9.-]/g, '');
  const hint = `${prefix}_${formatName}:${start}`.slice(0, 48);
  return {
    id,
    name: candidate.name,
    ownerId: candidate.ownerId,
    hint,
    hash: candidate.hash,
    scopes: candidate.scopes,
    metadata: candidate.metadata,
    createdAt,
    expiresAt: candidate.expiresAt,
    revokedAt: candidate.revoked ? new Date(now) : null,
    revokedReason: candidate.revoked ? `revoked in ${formatName}` : null,
    lastUsedAt: candidate.lastUsedAt,
    replacedById: null,
    familyId: id,
    remainingUses: candidate.remainingUses,
    rateLimitMax: null,
    rateLimitWindowMs: null,
    refillAmount: candidate.refill?.amount ?? null,
    refillIntervalMs: candidate.refill?.intervalMs ?? null,
    refilledAtMs: candidate.refill ? (candidate.refill.lastAtMs ?? now) : null,
    disabledAt: candidate.disabled ? new Date(now) : null,
    disabledReason: candidate.disabled ? `disabled in ${formatName}` : null,
    allowedIps: null,
  };
}
