import { Inject, Injectable, Optional, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { API_KEY_LEGACY_KEYS, API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyPrincipal, ApiKeyVerification } from './api-key.principal.js';
import type { ApiKeyStore, StoredApiKey } from '../storage/api-key.store.js';
import { judgePresentedKey } from '../key/key-format.js';
import { constantTimeEqual, hashApiKey } from '../key/key-hash.js';
import { thenApply, type MaybePromise } from '../storage/maybe-promise.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import { RefusedUseRecorder } from './write-behind.js';
import { CreditSpender, type CreditHolder } from './credit-spender.js';
import { availableCredits, hasRefill, nextRefillAt, type CreditState } from '../policies/credits.js';
import { storedAllowlist } from '../policies/ip-allowlist.js';
import type { ApiKeyLegacyKeys } from './legacy-keys.js';

/** Where a verified key's balance is, and its refill; kept off the public principal. */
type KeyCredits = CreditHolder & CreditState;

const MALFORMED: ApiKeyVerification = Object.freeze({ valid: false, reason: 'malformed' });
const FOREIGN_PREFIX: ApiKeyVerification = Object.freeze({ valid: false, reason: 'prefix' });
const UNKNOWN: ApiKeyVerification = Object.freeze({ valid: false, reason: 'unknown' });
const FORGED: ApiKeyVerification = Object.freeze({ valid: false, reason: 'forged' });

/**
 * Decides whether a presented key is valid right now: parse and checksum (no
 * I/O), SHA-256, one indexed read, then revocation, expiry and use limit
 * against the row. Shared by the HTTP guard and `ApiKeyService.verify`. Its
 * only writes: a spend of a key with credits (one conditional UPDATE, last),
 * and refused uses of known keys, written behind in batches.
 */
@Injectable()
export class ApiKeyVerifier implements BeforeApplicationShutdown, OnModuleDestroy {
  /** The credit columns of principals this verifier made, for {@link consumeUse}. */
  private readonly credits = new WeakMap<ApiKeyPrincipal, KeyCredits>();
  private readonly spender: CreditSpender;
  /** Refused uses of known keys (revoked, expired, exhausted, disabled), written behind in batches. */
  readonly refusedUses: RefusedUseRecorder;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_STORE) private readonly store: ApiKeyStore,
    db: ApiKeyDatabase,
    /** Other systems' key formats a feature accepts (`nestjs-opaque-keys/import`); none without it. */
    @Optional() @Inject(API_KEY_LEGACY_KEYS) private readonly legacy?: ApiKeyLegacyKeys,
  ) {
    this.spender = new CreditSpender(db.dataSource, db.keys);
    this.refusedUses = new RefusedUseRecorder(options, db);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.refusedUses.close();
  }

  onModuleDestroy(): void {
    this.refusedUses.stop();
  }

  /**
   * The verdict on a presented key; synchronous when the store answers
   * synchronously (better-sqlite3, a cache hit), else a promise.
   * @throws ApiKeyStoreUnavailableError (thrown or rejected) when the database
   *   cannot answer: a caller must fail closed, and must not treat it as an invalid key.
   */
  verify(key: unknown, now: number = Date.now()): MaybePromise<ApiKeyVerification> {
    const presented = judgePresentedKey(key, this.options.prefixes);
    if (!presented.ours) {
      const refused = presented.reason === 'prefix' ? FOREIGN_PREFIX : MALFORMED;
      return this.legacy ? this.verifyLegacy(this.legacy, key, refused, now) : refused;
    }
    const environment = presented.environment;
    // The keyed tag, if on: a key not issued here is refused with no I/O.
    if (this.options.keyTagger && !this.options.keyTagger.acceptsKey(key as string)) return FORGED;
    const hash = hashApiKey(key as string);
    return thenApply(this.store.findByHash(hash), (row) => this.judge(row, hash, environment, now));
  }

  /**
   * A key of another system's format, accepted for keys imported from it: found under one of its stored forms
   * (looked up in order until one is found), confirmed against the source's hash when found under a lookup
   * value, then judged as any key. A string of no accepted format keeps its refusal, with no I/O.
   */
  private async verifyLegacy(
    legacy: ApiKeyLegacyKeys,
    key: unknown,
    refused: ApiKeyVerification,
    now: number,
  ): Promise<ApiKeyVerification> {
    const match = typeof key === 'string' ? legacy.match(key) : null;
    if (!match) return refused;
    const native = hashApiKey(key as string);
    // In order, first the key's own SHA-256: a converted or upgraded key costs one lookup, as a native one.
    for (const hash of match.hashes) {
      const row = await this.store.findByHash(hash);
      if (!row) continue;
      // Found under its own SHA-256: a converted or upgraded row. Else the source's hash must hold.
      if (hash !== native && !(await legacy.confirm(key as string, row))) return UNKNOWN;
      return this.judge(row, row.hash, match.environment, now);
    }
    // Missed under every form: a first use elsewhere may have upgraded the row between two lookups. Ask once more.
    if (match.hashes.length < 2 || match.hashes[0] !== native) return UNKNOWN;
    const upgraded = await this.store.findByHash(native);
    return upgraded ? this.judge(upgraded, upgraded.hash, match.environment, now) : UNKNOWN;
  }

  /** Whether `key`, without the setup's prefix, has a legacy format a feature accepts (no I/O). */
  recognizes(key: string): boolean {
    return this.legacy !== undefined && typeof key === 'string' && this.legacy.match(key) !== null;
  }

  /** Revocation, expiry and use limit of the row found by `hash` (or none). */
  private judge(row: StoredApiKey | null, hash: string, environment: string | null, now: number): ApiKeyVerification {
    // The database found the row by hash; confirm it in constant time anyway
    // (a case-insensitive collation must never widen a match).
    if (!row || !constantTimeEqual(row.hash, hash)) return UNKNOWN;
    if (row.revokedAt) return this.refuse(row, 'revoked');
    if (row.disabledAt) return this.refuse(row, 'disabled');
    if (row.expiresAt && row.expiresAt.getTime() <= now) return this.refuse(row, 'expired');
    if (row.remainingUses === null) return { valid: true, principal: toPrincipal(row, environment, null) };
    // A key that holds its family's balance, with nothing left and no refill to
    // come, is refused on the read (no write). A key in its rotation grace period
    // spends from its successor, and one with a refill may be due one: both go on
    // to the spend, which decides (and says when the next refill comes).
    const refills = hasRefill(row);
    const holdsBalance = row.replacedById === null;
    if (holdsBalance && !refills && row.remainingUses <= 0) return this.refuse(row, 'exhausted');
    const credits: KeyCredits = {
      id: row.id,
      familyId: row.familyId ?? row.id,
      holdsBalance,
      refills,
      remainingUses: row.remainingUses,
      refillAmount: row.refillAmount,
      refillIntervalMs: row.refillIntervalMs,
      refilledAtMs: row.refilledAtMs,
    };
    const principal = toPrincipal(row, environment, holdsBalance ? availableCredits(credits, now) : row.remainingUses);
    this.credits.set(principal, credits);
    return { valid: true, principal };
  }

  /**
   * Spends `cost` credits (default 1) of a key with a use limit or credits:
   * one conditional UPDATE on the rotation family's balance, with a due refill
   * applied in it; keys without a balance, and a `cost` of 0, pass with no
   * write. Call it last, once the request passed every other check, so a
   * refused request never costs a credit. Refused: `exhausted`, with
   * `retryAfterMs` (time to the next refill) when a refill is configured.
   * @throws ApiKeyStoreUnavailableError
   */
  async consumeUse(principal: ApiKeyPrincipal, cost = 1, now: number = Date.now()): Promise<ApiKeyVerification> {
    if (principal.remainingUses === null || cost === 0) return { valid: true, principal };
    const credits = this.credits.get(principal) ?? legacyHolder(principal);
    // The balance the key holds, read just now, is short: refused without a write.
    if (credits.holdsBalance && availableCredits(credits, now) < cost)
      return this.outOfCredits(principal, credits, now);
    if (await this.spender.spend(credits, cost, now)) return { valid: true, principal };
    return this.outOfCredits(principal, credits, now);
  }

  /** Out of credits: `exhausted`, and when a refill is configured, the time to the next one. */
  private outOfCredits(principal: ApiKeyPrincipal, credits: KeyCredits, now: number): ApiKeyVerification {
    const refused = this.refuse(principal, 'exhausted');
    const next = nextRefillAt(credits, now);
    return next === null ? refused : { ...refused, retryAfterMs: next - now };
  }

  /** A refusal of a known key, noted for the events table (write-behind, batched). */
  private refuse(
    row: { id: string; ownerId: string | null },
    reason: 'revoked' | 'expired' | 'exhausted' | 'disabled',
  ): Extract<ApiKeyVerification, { valid: false }> {
    this.refusedUses.note(row.id, row.ownerId, `${reason}_use`);
    return { valid: false, reason, keyId: row.id, ownerId: row.ownerId };
  }
}

/** The holder of a principal this verifier did not make: its own row, by id, with no refill. */
function legacyHolder(principal: ApiKeyPrincipal): KeyCredits {
  return {
    id: principal.id,
    familyId: principal.id,
    holdsBalance: true,
    refills: false,
    remainingUses: principal.remainingUses,
    refillAmount: null,
    refillIntervalMs: null,
    refilledAtMs: null,
  };
}

function toPrincipal(row: StoredApiKey, environment: string | null, remainingUses: number | null): ApiKeyPrincipal {
  const principal = {
    id: row.id,
    familyId: row.familyId ?? row.id,
    environment,
    name: row.name,
    ownerId: row.ownerId,
    scopes: row.scopes,
    metadata: row.metadata,
    expiresAt: row.expiresAt,
    remainingUses,
    rateLimit:
      row.rateLimitMax && row.rateLimitWindowMs ? { limit: row.rateLimitMax, windowMs: row.rateLimitWindowMs } : null,
  };
  // Only keys with an allowlist carry one (compiled once per stored value).
  return row.allowedIps === null ? principal : { ...principal, allowedIps: storedAllowlist(row.allowedIps) };
}
