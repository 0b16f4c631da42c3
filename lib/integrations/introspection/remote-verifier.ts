import { Inject, Injectable } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ApiKeyFormatError, ApiKeyStoreUnavailableError } from '../../api-key.errors.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ApiKeyPrincipal, ApiKeyVerification } from '../../verification/api-key.principal.js';
import type { ApiKeyVerifier } from '../../verification/api-key.verifier.js';
import { parseApiKey } from '../../key/key-format.js';
import { hashApiKey } from '../../key/key-hash.js';
import { AnswerCache } from './answer-cache.js';
import { fromIntrospectionResponse } from './introspection-response.js';
import { REMOTE_INTROSPECTION_OPTIONS, ResolvedRemoteOptions } from './remote.options.js';

const MALFORMED: ApiKeyVerification = Object.freeze({ valid: false, reason: 'malformed' });
const FOREIGN_PREFIX: ApiKeyVerification = Object.freeze({ valid: false, reason: 'prefix' });

function expiryOf(verification: ApiKeyVerification): number | undefined {
  return verification.valid ? verification.principal.expiresAt?.getTime() : undefined;
}

/**
 * Verifies keys against a remote key store's RFC 7662 introspection endpoint
 * (`createIntrospectionController`), for services without the key database.
 * It has the methods of `ApiKeyVerifier` the guard calls, and
 * `ApiKeyRemoteModule` provides it in that class's place.
 *
 * - Malformed keys and other prefixes are refused locally, with no call.
 * - Answers are cached for `cacheTtlMs` (default 5 s; never past the key's
 *   expiry) under the key's SHA-256, never the key itself, with at most
 *   `cacheMaxEntries` entries. A revocation shows here within the TTL.
 * - A failed, timed out (`timeoutMs`, default 2 s), non-2xx or malformed
 *   answer throws `ApiKeyStoreUnavailableError`: the guard answers 503. It is
 *   never cached.
 * - Introspection spends no use of keys with a use limit, and `consumeUse`
 *   here is a pass-through: limits are enforced where keys are stored, so
 *   requests served by a remote service do not count against them.
 */
@Injectable()
export class RemoteApiKeyVerifier implements Pick<ApiKeyVerifier, 'verify' | 'consumeUse'> {
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
    try {
      if (!this.options.prefixes.has(parseApiKey(key).prefix)) return FOREIGN_PREFIX;
    } catch (error) {
      if (error instanceof ApiKeyFormatError) return MALFORMED;
      throw error;
    }
    // 2. The cached answer, or one call to the key store.
    const verification = await this.cache.get(
      hashApiKey(key as string),
      () => this.introspect(key as string),
      expiryOf,
      now,
    );
    // 3. A key may expire while its answer is cached.
    const expiresAt = expiryOf(verification);
    if (verification.valid && expiresAt !== undefined && expiresAt <= now) {
      return { valid: false, reason: 'expired', keyId: verification.principal.id };
    }
    return verification;
  }

  /** Pass-through: uses are counted by the key store, not by remote services. */
  async consumeUse(principal: ApiKeyPrincipal): Promise<ApiKeyVerification> {
    return { valid: true, principal };
  }

  /** Forgets every cached answer (e.g. after an incident). */
  clearCache(): void {
    this.cache.clear();
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
      throw new ApiKeyStoreUnavailableError({ cause: error });
    }
    const verification = fromIntrospectionResponse(body);
    if (!verification)
      throw new ApiKeyStoreUnavailableError({ cause: new Error('introspection answer is not an RFC 7662 response') });
    return verification;
  }
}
