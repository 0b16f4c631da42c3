import type { ExecutionContext } from '@nestjs/common';

/**
 * How a request with a key ended: `verified`, or why it was refused (`invalid`: unknown, malformed, revoked,
 * expired, disabled or forged; `forbidden`: a missing scope or address; `rate_limited`; `out_of_credits`),
 * or `unavailable` when the store could not answer (a 503).
 */
export type VerificationOutcome =
  'verified' | 'invalid' | 'forbidden' | 'rate_limited' | 'out_of_credits' | 'unavailable';

/**
 * A feature that hears how each request with a key ended (usage counts, telemetry): the verification half of
 * the extension point (see `ApiKeyFeature.verificationHook`). Called on the request path, so each call must be
 * O(1), do no I/O and never throw. Never given the key, nor its hash.
 */
export interface ApiKeyVerificationHook {
  /** A request carrying a key reached the guard (e.g. to start a clock). */
  started?(context: ExecutionContext): void;
  /**
   * The request's one outcome. `keyId` is `undefined` for a key that matches no row (unknown, malformed,
   * forged); `context` is `undefined` outside a guard (`ApiKeyService.verify`).
   */
  ended(context: ExecutionContext | undefined, outcome: VerificationOutcome, keyId: string | undefined): void;
}

/** The hooks of one key setup, called in order; nothing at all when no feature hears outcomes. */
export class VerificationOutcomes {
  constructor(private readonly hooks: readonly ApiKeyVerificationHook[] = []) {}

  /** A request with a key arrived. */
  start(context: ExecutionContext): void {
    for (const hook of this.hooks) hook.started?.(context);
  }

  /** A request of `keyId` (`undefined` for an unknown or malformed key) ended with `outcome`. */
  report(context: ExecutionContext | undefined, outcome: VerificationOutcome, keyId: string | undefined): void {
    for (const hook of this.hooks) hook.ended(context, outcome, keyId);
  }

  /** An invalid key's request: `out_of_credits` for a known key with no uses left, else `invalid`. */
  refused(context: ExecutionContext | undefined, verification: { reason?: string; keyId?: string }): void {
    this.report(context, verification.reason === 'exhausted' ? 'out_of_credits' : 'invalid', verification.keyId);
  }
}
