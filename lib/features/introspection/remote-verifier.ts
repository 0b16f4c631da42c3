import { Inject, Injectable } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { asStoreUnavailable } from '../../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ApiKeyPrincipal, ApiKeyVerification } from '../../verification/api-key.principal.js';
import type { KeyVerifier } from '../../verification/key-verifier.js';
import { judgePresentedKey } from '../../key/key-format.js';
import { hashApiKey } from '../../key/key-hash.js';
import { AnswerCache } from './answer-cache.js';
import { fromIntrospectionResponse } from './introspection-response.js';
import { REMOTE_INTROSPECTION_OPTIONS, ResolvedRemoteOptions } from './remote.options.js';

const MALFORMED: ApiKeyVerification = Object.freeze({ valid: false, reason: 'malformed' });
const FOREIGN_PREFIX: ApiKeyVerification = Object.freeze({ valid: false, reason: 'prefix' });

function expiryOf(verification: ApiKeyVerification): number | undefined {
  return verification.valid ? verification.principal.expiresAt?.getTime() : undefined;
}

/** Only active answers are kept: an unknown key leaves nothing behind and cannot evict a known one. */
const KEEP_ACTIVE = { keep: (verification: ApiKeyVerification) => verification.valid, expiresAt: expiryOf };

/**
 * Verifies keys against a remote key store's RFC 7662 introspection endpoint
 * (`createIntrospectionController`), for services without the key database.
 * It has the methods of `ApiKeyVerifier` the guard calls, and
 * `ApiKeyRemoteModule` provides it in that class's place.
 *
 * - Malformed keys and other prefixes are refused locally, with no call.
 * - Active answers are cached for `cacheTtlMs` (default 5 s; never past the
 *   key's expiry) under the key's SHA-256, never the key itself, with at most
 *   `cacheMaxEntries` entries. A revocation shows here within the TTL.
 * - Inactive answers (unknown, revoked, expired keys) are never cached:
 *   forged keys, however many, cannot push a real key's answer out, and
 *   leave nothing behind. Each one costs a call, as it would cost a lookup on
 *   the key store itself; concurrent calls for one key share one call.
 * - A failed, timed out (`timeoutMs`, default 2 s), non-2xx or malformed
 *   answer throws `ApiKeyStoreUnavailableError`: the guard answers 503. It is
 *   never cached.
 * - A key's IP allowlist comes with the answer (`ext.allowed_ips`): the guard
 *   checks it against this service's own client address.
 * - Introspection spends no use of keys with a use limit, and `consumeUse`
 *   here is a pass-through: limits are enforced where keys are stored, so
 *   requests served by a remote service do not count against them.
 */
@Injectable()
export class RemoteApiKeyVerifier implements KeyVerifier {
  private readonly cache: AnswerCache<ApiKeyVerification>;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(REMOTE_INTROSPECTION_OPTIONS) private readonly remote: ResolvedRemoteOptions,
  ) {
    this.cache = new AnswerCache(remote.cacheTtlMs, remote.cacheMaxEntries);
  }

  /**
   * Whether the key is valid now, as the key store last said (at most
   * `cacheTtlMs` ago).
   * @throws ApiKeyStoreUnavailableError when the key store cannot answer
   */
  async verify(key: unknown, now: number = Date.now()): Promise<ApiKeyVerification> {
    // 1. Format, checksum and prefix, with no I/O.
    const presented = judgePresentedKey(key, this.options.prefixes);
    if (!presented.ours) return presented.reason === 'prefix' ? FOREIGN_PREFIX : MALFORMED;
    // 2. The cached answer, or one call to the key store.
    const verification = await this.cache.get(
      hashApiKey(key as string),
      () => this.introspect(key as string),
      KEEP_ACTIVE,
      now,
    );
    // 3. A key may expire while its answer is cached.
    const expiresAt = expiryOf(verification);
    if (verification.valid && expiresAt !== undefined && expiresAt <= now) {
      const { id: keyId, ownerId } = verification.principal;
      return { valid: false, reason: 'expired', keyId, ownerId };
    }
    return verification;
  }

  /** Pass-through: uses are counted by the key store, not by remote services. */
  async consumeUse(principal: ApiKeyPrincipal): Promise<ApiKeyVerification> {
    return { valid: true, principal };
  }

  private async introspect(key: string): Promise<ApiKeyVerification> {
    let body: unknown;
    try {
      const response = await this.remote.fetch(this.remote.introspectionUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.remote.introspectionKey}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token: key, token_type_hint: 'api_key' }).toString(),
        signal: AbortSignal.timeout(this.remote.timeoutMs),
        redirect: 'error',
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw new Error(`introspection endpoint answered HTTP ${response.status}`);
      }
      body = await response.json();
    } catch (error) {
      throw asStoreUnavailable(error);
    }
    const verification = fromIntrospectionResponse(body);
    if (!verification) throw asStoreUnavailable(new Error('introspection answer is not an RFC 7662 response'));
    return verification;
  }
}
