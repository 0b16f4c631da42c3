import { Inject, Injectable } from '@nestjs/common';
import { ApiKeyAuditLog } from '../lifecycle/api-key-audit.log.js';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyPrincipal, ApiKeyVerification } from './api-key.principal.js';
import type { ApiKeyStore, StoredApiKey } from '../storage/api-key.store.js';
import { ApiKeyFormatError } from '../api-key.errors.js';
import { parseApiKey } from '../key/key-format.js';
import { constantTimeEqual, hashApiKey } from '../key/key-hash.js';
import { thenApply, type MaybePromise } from './maybe-promise.js';
import { ApiKeyUsageCounter } from './usage-counter.js';

const MALFORMED: ApiKeyVerification = Object.freeze({ valid: false, reason: 'malformed' });
const UNKNOWN: ApiKeyVerification = Object.freeze({ valid: false, reason: 'unknown' });

/**
 * Decides whether a presented key is valid right now: parse and checksum (no
 * I/O), SHA-256, one indexed read, then revocation, expiry and use limit
 * against the row. Shared by the HTTP guard and `ApiKeyService.verify`.
 */
@Injectable()
export class ApiKeyVerifier {
  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_STORE) private readonly store: ApiKeyStore,
    private readonly usage: ApiKeyUsageCounter,
    private readonly audit: ApiKeyAuditLog,
  ) {}

  /**
   * The verdict on a presented key; synchronous when the store answers
   * synchronously (better-sqlite3, a cache hit), else a promise.
   * @throws ApiKeyStoreUnavailableError (thrown or rejected) when the database
   *   cannot answer: a caller must fail closed, and must not treat it as an invalid key.
   */
  verify(key: unknown, now: number = Date.now()): MaybePromise<ApiKeyVerification> {
    let environment: string | null | undefined;
    try {
      environment = this.options.prefixes.get(parseApiKey(key).prefix);
    } catch (error) {
      if (error instanceof ApiKeyFormatError) return MALFORMED;
      throw error;
    }
    if (environment === undefined) return MALFORMED; // another prefix: not ours
    const hash = hashApiKey(key as string);
    return thenApply(this.store.findByHash(hash), (row) => this.judge(row, hash, environment, now));
  }

  /** Revocation, expiry and use limit of the row found by `hash` (or none). */
  private judge(row: StoredApiKey | null, hash: string, environment: string | null, now: number): ApiKeyVerification {
    // The database found the row by hash; confirm it in constant time anyway
    // (a case-insensitive collation must never widen a match).
    if (!row || !constantTimeEqual(row.hash, hash)) return UNKNOWN;
    if (row.revokedAt) return this.refuse(row, 'revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= now) return this.refuse(row, 'expired');
    if (row.remainingUses !== null && row.remainingUses <= 0) return this.refuse(row, 'exhausted');
    return { valid: true, principal: toPrincipal(row, environment) };
  }

  /**
   * Takes one use of a key with a use limit (one conditional UPDATE); keys
   * without a limit pass with no write. Call it last, once the request passed
   * every other check, so a refused request never costs a use.
   * @throws ApiKeyStoreUnavailableError
   */
  async consumeUse(principal: ApiKeyPrincipal): Promise<ApiKeyVerification> {
    if (principal.remainingUses === null || (await this.usage.take(principal.id))) return { valid: true, principal };
    return this.refuse(principal, 'exhausted');
  }

  /** A refusal of a known key, noted (batched) in the audit log. */
  private refuse(
    row: { id: string; ownerId: string | null },
    reason: 'revoked' | 'expired' | 'exhausted',
  ): ApiKeyVerification {
    this.audit.noteRefusedUse(row.id, row.ownerId, `${reason}_use`);
    return { valid: false, reason, keyId: row.id };
  }
}

function toPrincipal(row: StoredApiKey, environment: string | null): ApiKeyPrincipal {
  return {
    id: row.id,
    familyId: row.familyId ?? row.id,
    environment,
    name: row.name,
    ownerId: row.ownerId,
    scopes: row.scopes,
    metadata: row.metadata,
    expiresAt: row.expiresAt,
    remainingUses: row.remainingUses,
    rateLimit:
      row.rateLimitMax && row.rateLimitWindowMs ? { limit: row.rateLimitMax, windowMs: row.rateLimitWindowMs } : null,
  };
}
