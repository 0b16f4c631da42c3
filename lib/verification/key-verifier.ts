import type { ApiKeyPrincipal, ApiKeyVerification } from './api-key.principal.js';
import type { MaybePromise } from '../storage/maybe-promise.js';

/**
 * What the guard asks of verification: a verdict on a presented key, and the
 * spending of a key's use limit or credits. `ApiKeyModule` provides `ApiKeyVerifier`
 * (the key database) under {@link API_KEY_VERIFIER}; `ApiKeyRemoteModule`
 * provides `RemoteApiKeyVerifier` (an introspection endpoint) there instead.
 */
export interface KeyVerifier {
  /**
   * The verdict on a presented key now; synchronous when the answer is at hand.
   * @throws ApiKeyStoreUnavailableError (thrown or rejected) when the store cannot answer.
   */
  verify(key: unknown, now?: number): MaybePromise<ApiKeyVerification>;
  /**
   * Spends `cost` credits (default 1) of a key with a use limit or credits; called last, once every
   * other check passed. Refused with `retryAfterMs` when a refill will come.
   * @throws ApiKeyStoreUnavailableError
   */
  consumeUse(principal: ApiKeyPrincipal, cost?: number): Promise<ApiKeyVerification>;
  /**
   * Whether a presented value without the setup's prefix is still a key this verifier judges (another system's
   * format a feature accepts), so that an optional route refuses a wrong one instead of passing it anonymously.
   */
  recognizes?(key: string): boolean;
}

/** The injection token of the {@link KeyVerifier} the guard uses. */
export const API_KEY_VERIFIER = Symbol('nestjs-opaque-keys:verifier');
