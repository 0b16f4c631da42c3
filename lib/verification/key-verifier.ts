import type { ApiKeyPrincipal, ApiKeyVerification } from './api-key.principal.js';
import type { MaybePromise } from './maybe-promise.js';

/**
 * What the guard asks of verification: a verdict on a presented key, and one
 * use of a key with a use limit. `ApiKeyModule` provides `ApiKeyVerifier`
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
   * Takes one use of a key with a use limit; called last, once every other check passed.
   * @throws ApiKeyStoreUnavailableError
   */
  consumeUse(principal: ApiKeyPrincipal): Promise<ApiKeyVerification>;
}

/** The injection token of the {@link KeyVerifier} the guard uses. */
export const API_KEY_VERIFIER = Symbol('nestjs-opaque-keys:verifier');
