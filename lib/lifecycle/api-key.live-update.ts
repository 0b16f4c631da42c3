import { IsNull } from 'typeorm';
import type { ApiKeyAuditLog, ApiKeyEventInput } from './api-key-audit.log.js';
import type { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ActingOptions, ApiKeyRecord, LeakedKeyResult } from './api-key.record.js';
import type { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
import { MANAGED_KEY_SELECT, managedKeyOf } from './acting-key.js';
import { assertMayChange, assertMayManage } from '../policies/delegation.js';
import { environmentOf } from '../key/key-format.js';
import { hashApiKey } from '../key/key-hash.js';
import { normalizeScopes } from '../policies/scope-matcher.js';

/** What a change of a live key works with: the service's parts, and its `get` for the fresh record. */
export interface LiveUpdateDeps {
  readonly entity: typeof ApiKeyColumns;
  readonly options: ResolvedApiKeyOptions;
  readonly unitOfWork: ApiKeyUnitOfWork;
  readonly audit: ApiKeyAuditLog;
  readonly cache: ApiKeyCacheInvalidator;
  /** The record of a key after its change (`ApiKeyService.get`). */
  readonly read: (id: string) => Promise<ApiKeyRecord>;
}

/** `ApiKeyService.revoke`: revokes a live key now, if `actingAs` reaches it (environment, owner). */
export async function revokeKey(
  deps: LiveUpdateDeps,
  id: string,
  reason: string | undefined,
  { actor, actingAs }: ActingOptions,
): Promise<ApiKeyRecord> {
  input.validateId(id);
  const checked = input.validateReason(reason);
  const check =
    actingAs && ((row: ManagedRow) => assertMayManage(actingAs, managedKeyOf(deps.options, row), deps.options));
  const change = { revokedAt: new Date(), revokedReason: checked };
  return updateLive(deps, id, change, 'revoked', actor, { reason: checked }, check);
}

/**
 * `ApiKeyService.updateScopes`: replaces a live key's scopes, with only scopes
 * `actingAs` may grant, and only narrower ones on a key of its own rotation family.
 */
export async function replaceScopes(
  deps: LiveUpdateDeps,
  id: string,
  scopes: string[],
  { actor, actingAs }: ActingOptions,
): Promise<ApiKeyRecord> {
  input.validateId(id);
  const normalized = normalizeScopes(scopes);
  const check =
    actingAs &&
    ((row: ManagedRow) =>
      assertMayChange(
        actingAs,
        managedKeyOf(deps.options, row),
        { scopes: normalized, expiresAt: row.expiresAt },
        deps.options,
      ));
  return updateLive(deps, id, { scopes: normalized }, 'scopes_changed', actor, { scopes: normalized }, check);
}

/**
 * `ApiKeyService.revokeByKey`: revokes a key given as plaintext, with a
 * `leak_reported` event; `unknown` for strings that are not one of our keys.
 */
export async function revokeLeakedKey(
  deps: LiveUpdateDeps,
  key: string,
  reason: string,
  actor: string | undefined,
): Promise<LeakedKeyResult> {
  if (environmentOf(key, deps.options.prefixes) === undefined) return { status: 'unknown' };
  const row = await deps.unitOfWork.run((em) =>
    em.findOne(deps.entity, { where: { hash: hashApiKey(key) }, select: { id: true } }),
  );
  if (!row) return { status: 'unknown' };
  try {
    // A leak report: the revocation and a `leak_reported` event, in one transaction.
    const checked = input.validateReason(reason.slice(0, 255));
    await updateLive(
      deps,
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

/** The columns a change of a live key reads (locked) before its check. */
type ManagedRow = Pick<ApiKeyColumns, keyof typeof MANAGED_KEY_SELECT>;

/**
 * One conditional UPDATE on a non-revoked key with its cache invalidation and
 * event, in one transaction, after `check` (a delegation check) accepted the locked row;
 * then the fresh record.
 */
async function updateLive(
  deps: LiveUpdateDeps,
  id: string,
  change: Partial<ApiKeyColumns>,
  type: 'revoked' | 'scopes_changed',
  actor: string | undefined,
  details: Record<string, unknown>,
  check?: (row: ManagedRow) => void,
  alsoType?: 'leak_reported',
): Promise<ApiKeyRecord> {
  const { entity, unitOfWork, audit, cache } = deps;
  const updated = await unitOfWork.run(async (em) => {
    const row = await em.findOne(entity, {
      where: { id },
      select: MANAGED_KEY_SELECT,
      lock: unitOfWork.writeLock,
    });
    if (!row) throw new ApiKeyNotFoundError(id);
    check?.(row);
    const result = await em.update(entity, { id, revokedAt: IsNull() }, change as never);
    if (result.affected !== 1) throw new ApiKeyStateError(id, 'revoked');
    await cache.changed(em, { ids: [id] });
    // A leak report comes first, then the revocation it caused (the newest event stays `revoked`).
    const events: ApiKeyEventInput[] = [{ keyId: id, ownerId: row.ownerId, type, actor, details }];
    if (alsoType) events.unshift({ keyId: id, ownerId: row.ownerId, type: alsoType, actor, details });
    await audit.write(em, events);
    return true;
  }, true);
  if (!updated) throw new ApiKeyNotFoundError(id);
  return deps.read(id);
}
