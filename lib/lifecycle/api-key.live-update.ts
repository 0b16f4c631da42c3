import { IsNull } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError } from '../api-key.errors.js';
import * as input from '../policies/api-key.input.js';
import type { ApiKeyEventInput, LifecycleContext } from './api-key.changes.js';
import type { ActingOptions, ApiKeyRecord, LeakedKeyResult } from './api-key.record.js';
import { MANAGED_KEY_SELECT, managedKeyOf } from './acting-key.js';
import { assertMayChange, assertMayManage } from '../policies/delegation.js';
import { environmentOf } from '../key/key-format.js';
import { hashApiKey } from '../key/key-hash.js';
import { normalizeScopes } from '../policies/scope-matcher.js';

/** What a change of a live key works with: the write side's context, and a read of the fresh record. */
export interface LiveUpdateDeps extends LifecycleContext {
  /** The record of a key after its change (`ApiKeyService.get`). */
  readonly read: (id: string) => Promise<ApiKeyRecord>;
}

/**
 * Changes of a live key that take effect on its next request: `ApiKeyService.revoke`, `updateScopes` and
 * `revokeByKey` (a leak report). Each is one conditional UPDATE in one change.
 */
export class LiveUpdates {
  constructor(private readonly deps: LiveUpdateDeps) {}

  /** Revokes a live key now, if `actingAs` reaches it (environment, owner). */
  revoke(id: string, reason: string | undefined, acting: ActingOptions): Promise<ApiKeyRecord> {
    return revokeKey(this.deps, id, reason, acting);
  }

  /** Replaces a live key's scopes, with only scopes `actingAs` may grant. */
  updateScopes(id: string, scopes: string[], acting: ActingOptions): Promise<ApiKeyRecord> {
    return replaceScopes(this.deps, id, scopes, acting);
  }

  /** Revokes a key given as plaintext; `unknown` for strings that are not one of our keys. */
  revokeByKey(key: string, reason: string, actor: string | undefined): Promise<LeakedKeyResult> {
    return revokeLeakedKey(this.deps, key, reason, actor);
  }
}

/** `ApiKeyService.revoke`: revokes a live key now, if `actingAs` reaches it (environment, owner). */
async function revokeKey(
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
async function replaceScopes(
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
async function revokeLeakedKey(
  deps: LiveUpdateDeps,
  key: string,
  reason: string,
  actor: string | undefined,
): Promise<LeakedKeyResult> {
  if (environmentOf(key, deps.options.prefixes) === undefined) return { status: 'unknown' };
  const row = await deps.db.run((em) =>
    em.findOne(deps.db.keys, { where: { hash: hashApiKey(key) }, select: { id: true } }),
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
  const { db, changes } = deps;
  const updated = await changes.run(async ({ em, record, invalidate }) => {
    const row = await em.findOne(db.keys, { where: { id }, select: MANAGED_KEY_SELECT, lock: db.writeLock });
    if (!row) throw new ApiKeyNotFoundError(id);
    check?.(row);
    const result = await em.update(db.keys, { id, revokedAt: IsNull() }, change as never);
    if (result.affected !== 1) throw new ApiKeyStateError(id, 'revoked');
    invalidate([id]);
    // A leak report comes first, then the revocation it caused (the newest event stays `revoked`).
    const events: ApiKeyEventInput[] = [{ keyId: id, ownerId: row.ownerId, type, actor, details }];
    if (alsoType) events.unshift({ keyId: id, ownerId: row.ownerId, type: alsoType, actor, details });
    record(...events);
    return true;
  });
  if (!updated) throw new ApiKeyNotFoundError(id);
  return deps.read(id);
}
