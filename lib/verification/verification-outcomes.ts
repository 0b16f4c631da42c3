import { Injectable, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyUsageOutcome } from '../features/usage/api-key-usage.entity.js';
import { ApiKeyTelemetry } from '../features/telemetry/api-key.telemetry.js';
import { ApiKeyUsageRecorder } from '../features/usage/usage.recorder.js';

/**
 * Where the guard reports how each request with a key ended: one call per
 * outcome. It hands the outcome to the usage counts (in memory, written behind)
 * and to telemetry; nothing here does I/O on the request path.
 */
@Injectable()
export class VerificationOutcomes {
  /** Start times of requests under way, by execution context (only while telemetry is on). */
  private readonly started = new WeakMap<object, number>();

  constructor(
    private readonly usage: ApiKeyUsageRecorder,
    private readonly telemetry: ApiKeyTelemetry,
  ) {}

  /** A request with a key arrived: notes its start time for the duration histogram and span (telemetry only). */
  start(context: ExecutionContext): void {
    if (this.telemetry.active) this.started.set(context, performance.now());
  }

  /** A request of `keyId` (`undefined` for an unknown or malformed key) ended with `outcome`. */
  report(context: ExecutionContext | undefined, outcome: ApiKeyUsageOutcome, keyId: string | undefined): void {
    this.usage.record(keyId, outcome);
    if (this.telemetry.active && context)
      this.telemetry.verified(outcome, context.getType(), keyId, this.started.get(context));
  }

  /** An invalid key's request: `out_of_credits` for a known key with no uses left, else `invalid`. */
  refused(context: ExecutionContext | undefined, verification: { reason?: string; keyId?: string }): void {
    this.report(context, verification.reason === 'exhausted' ? 'out_of_credits' : 'invalid', verification.keyId);
  }

  /** The store could not answer: a 503. Counted by telemetry, not in usage. */
  unavailable(context: ExecutionContext): void {
    if (this.telemetry.active) this.telemetry.storeFailed(context.getType(), this.started.get(context));
  }
}
