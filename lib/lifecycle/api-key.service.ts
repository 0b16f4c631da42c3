import { Injectable } from '@nestjs/common';
import { LessThan } from 'typeorm';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import * as input from '../policies/api-key.input.js';
import type { ApiKeyVerification } from '../verification/api-key.principal.js';
import type {
  ActingOptions,
  ApiKeyPage,
  ApiKeyRecord,
  IssueApiKeyInput,
  IssuedApiKey,
  LeakedKeyResult,
  ListApiKeysQuery,
  RotateApiKeyOptions,
  RotatedApiKey,
} from './api-key.record.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import { ApiKeyChanges } from './api-key.changes.js';
import { KeyControls } from './api-key.controls.js';
import { KeyCredits } from './api-key.credits.js';
import { KeyIssuance } from './api-key.issuance.js';
import { LiveUpdates } from './api-key.live-update.js';
import { KeyQueries, type ListApiKeyEventsQuery, type ListExpiringQuery } from './api-key.queries.js';
import { KeyRotation } from './api-key.rotation.js';
import type { ApiKeyUpdate } from './api-key.update.js';

export type { ListExpiringQuery } from './api-key.queries.js';

/** Who acts, for the audit log. */
export interface ActorOption {
  actor?: string;
}

/**
 * Issues, rotates, revokes and lists API keys. Every change is one
 * transaction with its audit event (`api_key_events`) and its invalidation of
 * the lookup cache, guarded by conditional statements, so concurrent calls
 * never leave two live successors or a half-revoked key. Plaintext keys leave
 * only through `issue` and `rotate`, once.
 */
@Injectable()
export class ApiKeyService {
  private readonly issuance: KeyIssuance;
  private readonly rotation: KeyRotation;
  private readonly live: LiveUpdates;
  private readonly credits: KeyCredits;
  private readonly controls: KeyControls;
  private readonly reads: KeyQueries;

  constructor(
    private readonly changes: ApiKeyChanges,
    private readonly verifier: ApiKeyVerifier,
    rateLimits: ApiKeyRateLimiter,
  ) {
    // The write side: one style, each operation built on the same context and change unit.
    const context = { ...changes.context, rateLimits };
    this.issuance = new KeyIssuance(context);
    this.rotation = new KeyRotation(context);
    this.live = new LiveUpdates({ ...context, read: (id) => this.get(id) });
    this.credits = new KeyCredits(context);
    this.controls = new KeyControls(context, this.credits);
    this.reads = new KeyQueries(context);
  }

  /**
   * Creates a key. The plaintext is in the result and nowhere else. With
   * `actingAs`, the new key must be within the acting key's scopes,
   * environment, owner and lifetime (a default expiry is held to the actor's;
   * an actor bound to its owner gives its owner by default).
   * @throws ApiKeyDelegationError when `actingAs` may not issue it
   */
  async issue(request: IssueApiKeyInput): Promise<IssuedApiKey> {
    return this.issuance.issue(request);
  }

  /**
   * Replaces a key by a successor with the same name, owner, scopes, metadata
   * and environment. The old key stays valid for `gracePeriodMs` (default:
   * revoked now) and records its successor. A revoked or already rotated key
   * cannot be rotated; of concurrent rotations of one key exactly one succeeds.
   */
  rotate(id: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    return this.rotation.rotate(id, options);
  }

  /**
   * Rotates the presented key (self-service renewal). A key that was already
   * rotated away revokes its whole rotation family (`reuse_detected`).
   */
  rotateByKey(key: string, options: RotateApiKeyOptions = {}): Promise<RotatedApiKey> {
    return this.rotation.rotateByKey(key, options);
  }

  /**
   * Revokes a key now (also ending a rotation grace period). Revoking twice is
   * an error. With `actingAs`, only a key of an environment the actor bounds.
   */
  async revoke(id: string, reason?: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    return this.live.revoke(id, reason, options);
  }

  /**
   * Replaces a live key's scopes; the next request sees them. With
   * `actingAs`, only scopes the actor holds, on a key it may manage (so a key
   * cannot widen its own scopes).
   */
  async updateScopes(id: string, scopes: string[], options: ActingOptions = {}): Promise<ApiKeyRecord> {
    return this.live.updateScopes(id, scopes, options);
  }

  /**
   * Disables a key, reversibly (unlike `revoke`): it gets the same 401 as any
   * invalid key (reason `disabled` in logs and events) until `enable`. With
   * `actingAs`, only a key of an environment the actor bounds.
   * @throws ApiKeyStateError when the key is revoked or already disabled
   */
  async disable(id: string, reason?: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.disable(id, reason, options);
    return this.get(id);
  }

  /**
   * Enables a disabled key; the next request passes again. With `actingAs`,
   * the actor must be able to issue the key (scopes, environment, lifetime).
   * @throws ApiKeyStateError when the key is revoked or not disabled
   */
  async enable(id: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.enable(id, options);
    return this.get(id);
  }

  /**
   * Changes a live key's `name`, `metadata`, `expiresAt` (within the expiry
   * policy), `rateLimit` or `allowedIps` in one transaction, with one
   * `updated` event naming the changed fields; the next request sees them.
   * With `actingAs`: a key the actor could issue, an expiry within its own,
   * and never its own rate limit or allowlist.
   * @throws ApiKeyValidationError, ApiKeyStateError (revoked), ApiKeyDelegationError
   */
  async update(id: string, patch: ApiKeyUpdate, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    await this.controls.update(id, patch, options);
    return this.get(id);
  }

  /**
   * Revokes every live key of an owner (an offboarded customer, a
   * compromised account) in one statement, with a `revoked` event per key.
   * Returns how many keys it revoked. With `actingAs`, only an owner it
   * reaches, and only from a key of the primary environment (the call crosses them).
   */
  revokeAllForOwner(ownerId: string, reason?: string, options: ActingOptions = {}): Promise<number> {
    return this.controls.revokeAllForOwner(ownerId, reason, options);
  }

  /**
   * Adds credits to a key's balance (a billing integration's top-up): one
   * transaction with a `credits_added` event and the cache invalidated. A
   * rotation family has one balance, on its newest key: naming any key of the
   * family adds there. Returns the record of the key holding the balance.
   * With `actingAs`, a key it may change (environment, owner, its scopes), never
   * one of its own rotation family.
   * @throws ApiKeyValidationError for a key without credits, or a bad amount; ApiKeyDelegationError
   * @example
   * await keys.addCredits(keyId, 1_000, { actor: 'billing' });
   */
  async addCredits(id: string, amount: number, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    return this.get(await this.credits.add(id, amount, options));
  }

  /**
   * Sets a key's balance to `remaining` (its refill, if any, stays): one
   * transaction with a `credits_set` event and the cache invalidated. A key
   * without credits gets a balance (no refill). Applies to the family's newest
   * key, and holds `actingAs` as {@link addCredits} does.
   * @example
   * await keys.setCredits(keyId, 0, { actor: 'billing' }); // unpaid: out of credits now
   */
  async setCredits(id: string, remaining: number, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    return this.get(await this.credits.set(id, remaining, options));
  }

  /**
   * Revokes a key given as plaintext, e.g. one a secret scanner found in a
   * public repository. Answers `unknown` for strings that are not one of our
   * keys, revealing nothing else.
   */
  async revokeByKey(key: string, reason = 'leaked', { actor }: ActorOption = {}): Promise<LeakedKeyResult> {
    return this.live.revokeByKey(key, reason, actor);
  }

  /**
   * Deletes keys that expired or were revoked before `before`. Until then they
   * stay in the table, for audit. Their events stay. Returns how many keys went.
   */
  async purge(before: Date): Promise<number> {
    input.validatePurgeBefore(before, Date.now());
    const { keys } = this.changes.db;
    const deleted = await this.changes.run(({ em }) =>
      em.delete(keys, [{ expiresAt: LessThan(before) }, { revokedAt: LessThan(before) }]),
    );
    return deleted.affected ?? 0;
  }

  /**
   * One key's record. With `actingAs`, only a key it reaches (its environment
   * bounds it, its owner is the actor's when the actor is bound to one).
   * @throws ApiKeyNotFoundError, ApiKeyDelegationError
   */
  async get(id: string, options: ActingOptions = {}): Promise<ApiKeyRecord> {
    return this.reads.get(id, options);
  }

  /**
   * A page of keys, newest first, optionally of one owner. With `actingAs`,
   * only keys it reaches: naming an owner it does not reach is refused.
   * @throws ApiKeyDelegationError (`owner`)
   */
  async list(query: ListApiKeysQuery = {}, options: ActingOptions = {}): Promise<ApiKeyPage> {
    return this.reads.list(query, options);
  }

  /**
   * Live keys (not revoked, not rotated away) that expire within `within` ms
   * from now, the soonest first, optionally of one owner; a page (`limit`
   * 1-100, default 50). With `actingAs`, as {@link list}.
   */
  async listExpiring(query: ListExpiringQuery, options: ActingOptions = {}): Promise<ApiKeyRecord[]> {
    return this.reads.listExpiring(query, options);
  }

  /**
   * Audit events of a key and/or an owner, newest first. With `actingAs`, a
   * key it reaches, or its own owner's events when bound to one; a key of
   * another than the primary environment reads them key by key (`keyId`).
   * @throws ApiKeyDelegationError
   */
  async listEvents(
    query: ListApiKeyEventsQuery,
    options: ActingOptions = {},
  ): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
    return this.reads.listEvents(query, options);
  }

  /**
   * Checks a key outside HTTP (WebSocket gateways, microservices, CLIs) as the
   * guard does, and counts a use of a key with a use limit.
   * @throws ApiKeyStoreUnavailableError when the database cannot answer
   */
  async verify(key: string): Promise<ApiKeyVerification> {
    const result = await this.verifier.verify(key);
    return result.valid ? this.verifier.consumeUse(result.principal) : result;
  }
}
