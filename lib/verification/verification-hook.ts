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
  /**
   * `true` to be given the client's address with each verified request, as the transport gives it (the guard's
   * `clientAddress`: Express/Fastify's `req.ip`, a socket's peer; never a header or payload the client writes).
   * The guard reads it only when some hook asks.
   */
  readonly wantsAddress?: boolean;
  /** A request carrying a key reached the guard (e.g. to start a clock). */
  started?(context: ExecutionContext): void;
  /**
   * The request's one outcome. `keyId` is `undefined` for a key that matches no row (unknown, malformed,
   * forged); `context` is `undefined` outside a guard (`ApiKeyService.verify`). `address`: see
   * {@link wantsAddress} (`verified` outcomes only; `undefined` where the transport gives none). `ownerId`: the
   * key's owner as the row read for this request says (`null` for a key without one), given with `keyId` when the
   * verifier knows it (always with the built-in one); `undefined` with no `keyId`.
   */
  ended(
    context: ExecutionContext | undefined,
    outcome: VerificationOutcome,
    keyId: string | undefined,
    address?: string,
    ownerId?: string | null,
  ): void;
}

/** The hooks of one key setup, called in order; nothing at all when no feature hears outcomes. */
export class VerificationOutcomes {
  /** Whether some hook wants the client's address with verified requests. */
  readonly wantsAddress: boolean;

  constructor(private readonly hooks: readonly ApiKeyVerificationHook[] = []) {
    this.wantsAddress = hooks.some((hook) => hook.wantsAddress === true);
  }

  /** A request with a key arrived. */
  start(context: ExecutionContext): void {
    // Indexed loops: no iterator per call on the request path (and none at all without hooks).
    for (let i = 0; i < this.hooks.length; i++) this.hooks[i].started?.(context);
  }

  /** A request of `keyId` (`undefined` for an unknown or malformed key) and its owner ended with `outcome`. */
  report(
    context: ExecutionContext | undefined,
    outcome: VerificationOutcome,
    keyId: string | undefined,
    address?: string,
    ownerId?: string | null,
  ): void {
    for (let i = 0; i < this.hooks.length; i++) this.hooks[i].ended(context, outcome, keyId, address, ownerId);
  }

  /** An invalid key's request: `out_of_credits` for a known key with no uses left, else `invalid`. */
  refused(
    context: ExecutionContext | undefined,
    verification: { reason?: string; keyId?: string; ownerId?: string | null },
  ): void {
    const outcome = verification.reason === 'exhausted' ? 'out_of_credits' : 'invalid';
    this.report(context, outcome, verification.keyId, undefined, verification.ownerId);
  }
}
