import * as input from '../policies/api-key.input.js';
import type { LifecycleContext } from './api-key.changes.js';
import { type IssueApiKeyInput, type IssuedApiKey, toRecord } from './api-key.record.js';
import { resolveExpiry } from '../policies/expiry-policy.js';
import { createKey, prefixFor } from './key-factory.js';
import { assertMayGrant, defaultExpiryWithin, defaultOwnerWithin } from '../policies/delegation.js';
import { creditColumns } from './api-key.credits.js';
import { normalizeScopes } from '../policies/scope-matcher.js';
import { type RateLimit, validateRateLimit } from '../policies/rate-limit.js';
import { validateAllowedIps } from '../policies/ip-allowlist.js';
import { type EntityManager, type FindOptionsWhere, IsNull, MoreThan } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyLimitError, ApiKeyStoreUnavailableError } from '../api-key.errors.js';

/** An allowlist as its column stores it: JSON text, or `null` for any address. */
function storedAllowedIps(allowedIps: string[] | null): string | null {
  return allowedIps === null ? null : JSON.stringify(allowedIps);
}

function rateLimitColumns(rate: RateLimit | null): { rateLimitMax: number | null; rateLimitWindowMs: number | null } {
  return { rateLimitMax: rate?.limit ?? null, rateLimitWindowMs: rate?.windowMs ?? null };
}

/** Issuing keys: `ApiKeyService.issue`. */
export class KeyIssuance {
  constructor(private readonly context: LifecycleContext) {}

  /**
   * Validates the request, holds it to `actingAs` (if any: its owner by default when it is bound to one),
   * makes the key and inserts its row with an `issued` event in one change, under `maxKeysPerOwner` when set.
   * The plaintext is in the result and nowhere else.
   * @throws ApiKeyValidationError, ApiKeyDelegationError, ApiKeyLimitError
   */
  async issue(request: IssueApiKeyInput): Promise<IssuedApiKey> {
    return issueKey(request, this.context);
  }
}

async function issueKey(request: IssueApiKeyInput, context: LifecycleContext): Promise<IssuedApiKey> {
  const { options, db, changes } = context;
  const entity = db.keys;
  const now = Date.now();
  const credits = input.validateCredits(request.credits, request.maxUses);
  const fields = {
    name: input.validateName(request?.name),
    ownerId: input.validateOwnerId(request.ownerId),
    scopes: normalizeScopes(request.scopes ?? []),
    metadata: input.validateMetadata(request.metadata),
    expiresAt: resolveExpiry(request.expiresAt, now, options),
    ...creditColumns(credits, now),
    ...rateLimitColumns(validateRateLimit(request.rateLimit)),
    allowedIps: storedAllowedIps(validateAllowedIps(request.allowedIps)),
  };
  if (fields.rateLimitMax !== null) context.rateLimits?.assertCanCount();
  const prefix = prefixFor(options, request.environment);
  const actor = request.actingAs;
  if (actor) {
    if (request.ownerId === undefined) fields.ownerId = defaultOwnerWithin(actor, undefined);
    if (request.expiresAt === undefined) fields.expiresAt = defaultExpiryWithin(actor, fields.expiresAt);
    assertMayGrant(actor, { ...fields, environment: options.prefixes.get(prefix) ?? null }, options);
  }
  const { key, row } = createKey(fields, {
    prefix,
    entropyBits: options.entropyBits,
    keyTagger: options.keyTagger,
    now,
  });
  // A new key changes no cached row: unknown keys are never cached.
  const limit = options.maxKeysPerOwner;
  const insert = () =>
    changes.run(async ({ em, record }) => {
      if (limit !== undefined && row.ownerId !== null)
        await assertOwnerBelowLimit(em, entity, row.ownerId, limit, new Date(now));
      await em.insert(entity, row as never);
      const details = {
        scopes: row.scopes,
        expiresAt: row.expiresAt,
        maxUses: row.remainingUses,
        refill: credits?.refill ?? null,
        rateLimit: request.rateLimit ?? null,
        allowedIps: fields.allowedIps !== null,
      };
      record({ keyId: row.id, ownerId: row.ownerId, type: 'issued', actor: request.actor, details });
    }, now);
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
