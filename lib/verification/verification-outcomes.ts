import { Injectable, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyUsageOutcome } from '../storage/api-key-usage.entity.js';
import { ApiKeyUsageRecorder } from './usage.recorder.js';

/**
 * Where the guard reports how each request with a key ended: one call per
 * outcome. It hands the outcome to the usage counts (in memory, written behind)
 * and to telemetry; nothing here does I/O on the request path.
 */
@Injectable()
export class VerificationOutcomes {
  constructor(private readonly usage: ApiKeyUsageRecorder) {}

  /** A request of `keyId` (`undefined` for an unknown or malformed key) ended with `outcome`. */
  report(context: ExecutionContext | undefined, outcome: ApiKeyUsageOutcome, keyId: string | undefined): void {
    void context;
    this.usage.record(keyId, outcome);
  }

  /** An invalid key's request: `out_of_credits` for a known key with no uses left, else `invalid`. */
  refused(context: ExecutionContext | undefined, verification: { reason?: string; keyId?: string }): void {
    this.report(context, verification.reason === 'exhausted' ? 'out_of_credits' : 'invalid', verification.keyId);
  }
}
