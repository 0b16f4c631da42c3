import type { ApiKeyPrincipal } from '../verification/api-key.principal.js';
import type { KeyVerifier } from '../verification/key-verifier.js';

/**
 * Verdicts given during one HTTP exchange (keyed by its in-flight response),
 * per key setup (keyed by the setup's verifier): a guard bound both globally
 * and with `@UseGuards` verifies, counts and charges a request once, while
 * another setup (another ApiKeyModule, the remote module) verifies for
 * itself, and a long-lived object (a WebSocket, a GraphQL subscription, an
 * RPC channel) is never an exchange: every operation on it is judged anew.
 * Private, so a client-set property can never pass for one.
 */
const verdicts = new WeakMap<object, Map<KeyVerifier, ApiKeyPrincipal>>();

/** The principal this key setup (its verifier) already admitted in this HTTP exchange, if any. */
export function admittedIn(exchange: object, setup: KeyVerifier): ApiKeyPrincipal | undefined {
  return verdicts.get(exchange)?.get(setup);
}

/** Remembers that this key setup admitted `principal` in this HTTP exchange (for as long as the exchange lives). */
export function rememberAdmission(exchange: object, setup: KeyVerifier, principal: ApiKeyPrincipal): void {
  let bySetup = verdicts.get(exchange);
  if (!bySetup) verdicts.set(exchange, (bySetup = new Map()));
  bySetup.set(setup, principal);
}
