import { Raw, type FindOptionsWhere } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ManagedKey, ReadBounds } from '../policies/delegation.js';
import { environmentOfHint } from './key-factory.js';

/** The columns the delegation checks read of a stored key. */
export const MANAGED_KEY_SELECT = {
  id: true,
  familyId: true,
  ownerId: true,
  hint: true,
  scopes: true,
  expiresAt: true,
} as const;

/** A stored key's row (or record), as the delegation checks see it: its environment read from its hint. */
export function managedKeyOf(
  options: ResolvedApiKeyOptions,
  row: Pick<ApiKeyColumns, keyof typeof MANAGED_KEY_SELECT>,
): ManagedKey {
  return {
    id: row.id,
    familyId: row.familyId,
    ownerId: row.ownerId,
    environment: environmentOfHint(options, row.hint),
    scopes: row.scopes,
    expiresAt: row.expiresAt,
  };
}

/**
 * The conditions that hold a listing of keys to `bounds` (`readBounds`):
 * their owner, and their environment as the prefix their hint starts with
 * (`sk_test_`), compared whole, so `LIKE` wildcards and prefixes of one
 * another (`test`, `test2`) cannot match the wrong keys.
 */
export function boundsWhere(options: ResolvedApiKeyOptions, bounds: ReadBounds): FindOptionsWhere<ApiKeyColumns> {
  const where: FindOptionsWhere<ApiKeyColumns> = {};
  if (bounds.ownerId !== undefined) where.ownerId = bounds.ownerId;
  if (bounds.environment !== undefined) {
    const prefix = [...options.prefixes].find(([, environment]) => environment === bounds.environment)?.[0];
    // No prefix of that environment: nothing to read (fail closed).
    if (prefix === undefined) return { ...where, hint: Raw(() => '1 = 0') };
    const start = `${prefix}_`;
    where.hint = Raw((column) => `SUBSTR(${column}, 1, ${start.length}) = :boundPrefix`, { boundPrefix: start });
  }
  return where;
}
