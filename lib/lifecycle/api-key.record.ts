import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import type { CreditsInput } from '../policies/credits.js';
import type { ApiKeyPrincipal } from '../verification/api-key.principal.js';
import { storedAllowlist } from '../policies/ip-allowlist.js';
import { availableCredits } from '../policies/credits.js';

/**
 * Who acts: `actor` names them in the audit log; `actingAs` is the verified
 * key making the call (e.g. `@CurrentApiKey()` on a management endpoint),
 * held to what it holds itself (docs/delegation.md): it grants only scopes it
 * holds, manages only keys of environments it bounds, gives no key a longer
 * life than its own, and cannot lift its own limits. Without `actingAs` the
 * call is trusted (server code, CLI).
 */
export interface ActingOptions {
  actor?: string;
  actingAs?: ApiKeyPrincipal;
}

/**
 * A stored key as the service returns it: every column but the hash, with
 * `allowedIps` as a list (`[]`, allowing nothing, for a stored list that
 * cannot be read).
 */
export type ApiKeyRecord = Omit<ApiKeyColumns, 'hash' | 'allowedIps'> & { allowedIps: string[] | null };

/** The result of `issue` and `rotate`: the plaintext key, shown this once, and its record. */
export interface IssuedApiKey {
  /** The plaintext key. Hand it to its owner now; it cannot be recovered later. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

/** Input of `ApiKeyService.issue`. */
export interface IssueApiKeyInput {
  /** A human name, 1-100 characters. */
  name: string;
  /** The owner in the host app's terms (user, team, tenant id), up to 255 characters. */
  ownerId?: string | null;
  /** Granted scopes; wildcards such as `orders:*` and `*` allowed. Default none. */
  scopes?: string[];
  /** When the key stops working; must be in the future. Default never. */
  expiresAt?: Date | null;
  /** Free-form JSON for the host app (up to 4 KiB). Never put secrets here. */
  metadata?: Record<string, unknown> | null;
  /** One of the module's `environments` (marked in the prefix: `sk_test_...`). Default the first. */
  environment?: string;
  /** How many requests the key may pass (1 = single use). Default unlimited. The same as `credits: { remaining: maxUses }`. */
  maxUses?: number | null;
  /**
   * Credits the key's requests spend (`@Cost(n)` per route, default 1), with an optional periodic refill,
   * e.g. `{ remaining: 1000, refill: { amount: 1000, intervalMs: 86_400_000 } }`. Not with `maxUses`.
   */
  credits?: CreditsInput | null;
  /** The key's own rate limit, e.g. `{ limit: 100, windowMs: 60_000 }`. Default: the module's `rateLimit`, if any. */
  rateLimit?: { limit: number; windowMs: number } | null;
  /**
   * The IPv4 / IPv6 addresses and CIDR ranges it may be used from, e.g.
   * `['203.0.113.0/24', '2001:db8::/32']`, matched against the address the
   * HTTP adapter trusts (`req.ip`). Default: any address.
   */
  allowedIps?: string[] | null;
  /** Who issues it, for the audit log (a user id, "cli", ...). */
  actor?: string;
  /** The verified key issuing it: the new key must be within its scopes, environment and lifetime. */
  actingAs?: ApiKeyPrincipal;
}

/** Options of `ApiKeyService.rotate`. */
export interface RotateApiKeyOptions {
  /** How long the old key keeps working, in ms. Default 0: revoked at once. */
  gracePeriodMs?: number;
  /** Expiry of the successor. Default: the old key's lifetime again from now, else the module's default lifetime, else never. */
  expiresAt?: Date | null;
  /** Who rotates it, for the audit log. */
  actor?: string;
  /** The verified key rotating it: the successor must be within its scopes, environment and lifetime. */
  actingAs?: ApiKeyPrincipal;
}

/** The result of `rotate`: the successor (with its plaintext) and the old key's new state. */
export interface RotatedApiKey extends IssuedApiKey {
  readonly previous: ApiKeyRecord;
}

/** Query of `ApiKeyService.list`. */
export interface ListApiKeysQuery {
  ownerId?: string;
  /** Include revoked keys. Default `true`. */
  includeRevoked?: boolean;
  /** Only keys in this state now ({@link ApiKeyStatus}, {@link apiKeyStatus}). */
  status?: ApiKeyStatus;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  /** Rows to skip. Default 0. */
  offset?: number;
}

/**
 * A key's state at a moment, the first that holds of: `revoked`; `disabled`
 * (not revoked, switched off); `expired` (past its expiry); `used-up` (no use
 * left: its `maxUses` reached, or its credits at 0 with no refill due yet; a
 * key with a refill is active again once its next refill falls due); else
 * `active` (usable). A key in its rotation grace period is never `used-up` by
 * its own row: its balance moved to its successor, which spends for both.
 * Every key has exactly one; `list({ status })` filters by the same rules in SQL.
 */
export type ApiKeyStatus = 'active' | 'disabled' | 'revoked' | 'expired' | 'used-up';

/** Every {@link ApiKeyStatus}, in order of precedence (the first that holds wins), `active` last. */
export const API_KEY_STATUSES: readonly ApiKeyStatus[] = ['revoked', 'disabled', 'expired', 'used-up', 'active'];

/** The columns {@link apiKeyStatus} reads. */
export type ApiKeyStatusColumns = Pick<
  ApiKeyColumns,
  | 'revokedAt'
  | 'disabledAt'
  | 'expiresAt'
  | 'replacedById'
  | 'remainingUses'
  | 'refillAmount'
  | 'refillIntervalMs'
  | 'refilledAtMs'
>;

/**
 * The state of a key at `now` (epoch ms), by the precedence of {@link ApiKeyStatus}.
 * @example apiKeyStatus(await keys.get(id)) // 'used-up' for a single-use key that was used
 */
export function apiKeyStatus(record: ApiKeyStatusColumns, now = Date.now()): ApiKeyStatus {
  if (record.revokedAt) return 'revoked';
  if (record.disabledAt) return 'disabled';
  if (record.expiresAt !== null && new Date(record.expiresAt).getTime() <= now) return 'expired';
  const holdsBalance = record.remainingUses !== null && record.replacedById === null;
  if (holdsBalance && availableCredits(record, now) <= 0) return 'used-up';
  return 'active';
}

/** One page of `list`. */
export interface ApiKeyPage {
  readonly items: ApiKeyRecord[];
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

/** The columns a record is read with: all but `hash`. */
export const RECORD_COLUMNS = [
  'id',
  'name',
  'ownerId',
  'hint',
  'scopes',
  'metadata',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'revokedReason',
  'lastUsedAt',
  'replacedById',
  'familyId',
  'remainingUses',
  'rateLimitMax',
  'rateLimitWindowMs',
  'refillAmount',
  'refillIntervalMs',
  'refilledAtMs',
  // Key controls:
  'disabledAt',
  'disabledReason',
  'allowedIps',
] as const satisfies readonly (keyof ApiKeyRecord)[];

/** Copies a row without its hash. */
export function toRecord(row: ApiKeyColumns | ApiKeyRecord): ApiKeyRecord {
  const record = {} as Record<string, unknown>;
  for (const column of RECORD_COLUMNS) record[column] = row[column];
  if (typeof row.allowedIps === 'string') record.allowedIps = [...storedAllowlist(row.allowedIps)!.entries];
  return record as unknown as ApiKeyRecord;
}

/** The outcome of `revokeByKey` for one reported key. */
export interface LeakedKeyResult {
  /** `revoked` now, `already_revoked` before, or `unknown` (not a key of ours). */
  readonly status: 'revoked' | 'already_revoked' | 'unknown';
}
