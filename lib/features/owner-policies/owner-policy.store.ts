import { In, IsNull, type EntityManager } from 'typeorm';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { environmentOfHint } from '../../lifecycle/key-factory.js';
import type { ApiKeyColumns } from '../../storage/api-key.entity.js';
import type { ApiKeyDatabase } from '../../storage/api-key.database.js';
import type { ApiKeyOwnerPolicyColumns } from './owner-policy.entity.js';
import { DEFAULT_POLICY_OWNER, type OwnerPolicy, type PolicyKey } from './owner-policy.js';

/** The columns of a key a policy is checked against, and its state. */
export const POLICY_KEY_SELECT = {
  id: true,
  ownerId: true,
  hint: true,
  scopes: true,
  createdAt: true,
  expiresAt: true,
  allowedIps: true,
  revokedAt: true,
  disabledAt: true,
  disabledReason: true,
} as const;

/** A key's row as the policy checks read it. */
export type PolicyKeyRow = Pick<ApiKeyColumns, keyof typeof POLICY_KEY_SELECT>;

/** The policies of some owners (and the default's), by owner id. */
export type PolicyMap = ReadonlyMap<string, OwnerPolicy>;

/** How a change's transaction holds policies still: the table of policies and the setup's database. */
export interface PolicyTables {
  readonly db: ApiKeyDatabase;
  readonly policies: typeof ApiKeyOwnerPolicyColumns;
  readonly options: ResolvedApiKeyOptions;
}

/** The policy a key is held to: its owner's, else the default's, else none. */
export function policyFor(policies: PolicyMap, ownerId: string | null): { owner: string; policy: OwnerPolicy } | null {
  const own = ownerId === null ? undefined : policies.get(ownerId);
  if (own) return { owner: ownerId!, policy: own };
  const fallback = policies.get(DEFAULT_POLICY_OWNER);
  return fallback ? { owner: DEFAULT_POLICY_OWNER, policy: fallback } : null;
}

/** A key row as a policy sees it. */
export function policyKeyOf(options: ResolvedApiKeyOptions, row: PolicyKeyRow): PolicyKey {
  return {
    scopes: row.scopes,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    environment: environmentOfHint(options, row.hint),
    allowedIps: row.allowedIps,
  };
}

function driverOf(em: EntityManager): string {
  return String(em.connection.options.type);
}

/** The name PostgreSQL's advisory lock of a policy table is taken on. */
function lockName(em: EntityManager, tables: PolicyTables): string {
  return `owner-policies:${em.connection.getMetadata(tables.policies).tablePath}`;
}

/**
 * Reads the policies of `owners` and the default one, in a change's transaction, so that no policy change
 * commits in between: on PostgreSQL under a shared advisory lock (a policy change takes it exclusively), on
 * MySQL / MariaDB as a locking read (`LOCK IN SHARE MODE`, which also holds the gap of a policy not yet set);
 * SQLite's writes are serialized.
 */
export async function readPoliciesHeld(
  em: EntityManager,
  tables: PolicyTables,
  owners: readonly string[],
): Promise<PolicyMap> {
  const type = driverOf(em);
  if (type === 'postgres')
    await em.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [lockName(em, tables)]);
  const locking = type === 'mysql' || type === 'mariadb';
  const rows = await em.find(tables.policies, {
    where: { ownerId: In([...new Set([...owners, DEFAULT_POLICY_OWNER])]) },
    ...(locking ? { lock: { mode: 'pessimistic_read' as const } } : {}),
  });
  return toPolicyMap(rows);
}

/**
 * Takes the keys `ownerId` reaches (every key when `null`) for a policy change: first their rows, locked where
 * the driver locks (changes of them under way commit first; on MySQL / MariaDB new keys of the owner wait), then,
 * on PostgreSQL, the advisory lock exclusively (changes that read the policies under way commit first), then the
 * rows again, as committed now. Returns the live (not revoked) keys.
 */
export async function lockKeysForPolicyChange(
  em: EntityManager,
  tables: PolicyTables,
  ownerId: string | null,
): Promise<PolicyKeyRow[]> {
  const where = ownerId === null ? { revokedAt: IsNull() } : { ownerId, revokedAt: IsNull() };
  const { keys, writeLock } = tables.db;
  const locked = await em.find(keys, { where, select: POLICY_KEY_SELECT, ...(writeLock ? { lock: writeLock } : {}) });
  if (driverOf(em) !== 'postgres') return locked;
  await em.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lockName(em, tables)]);
  return em.find(keys, { where, select: POLICY_KEY_SELECT });
}

/** Every policy row (or those of `owners` and the default), as stored. */
export function readPolicyRows(
  em: EntityManager,
  tables: PolicyTables,
  owners?: readonly string[],
): Promise<ApiKeyOwnerPolicyColumns[]> {
  const where = owners ? { ownerId: In([...new Set([...owners, DEFAULT_POLICY_OWNER])]) } : {};
  return em.find(tables.policies, { where, order: { ownerId: 'ASC' } });
}

/** The stored rows as a map of parsed policies; a row that cannot be read holds every key to nothing (fail closed). */
export function toPolicyMap(rows: readonly ApiKeyOwnerPolicyColumns[]): PolicyMap {
  return new Map(rows.map((row) => [row.ownerId, parsePolicy(row.policy)]));
}

/** A stored policy; one that cannot be read allows no scope and no environment (fail closed). */
export function parsePolicy(stored: string): OwnerPolicy {
  try {
    const parsed: unknown = JSON.parse(stored);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as OwnerPolicy;
  } catch {
    // fall through
  }
  return { scopes: [], environments: [] };
}
