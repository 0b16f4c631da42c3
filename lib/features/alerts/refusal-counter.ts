import { Inject, Injectable } from '@nestjs/common';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import { API_KEY_ALERT_OPTIONS, type ResolvedAlertOptions } from './alerts.options.js';
import { WindowedCounts, type CountedCrossing } from './windowed-counts.js';

/**
 * The verification hook of `withAlerts()`: counts rate-limit refusals (`rate_limited`) and refusals of known keys
 * (`invalid`, `forbidden`) per key id, in memory, per instance. O(1) per request, no I/O; a verified request
 * returns at the first comparison. The alert check reads the counts on its interval.
 */
@Injectable()
export class ApiKeyRefusalCounter implements ApiKeyVerificationHook {
  private readonly rateLimited: WindowedCounts | undefined;
  private readonly refusals: WindowedCounts | undefined;

  constructor(@Inject(API_KEY_ALERT_OPTIONS) options: ResolvedAlertOptions) {
    const { rateLimited, refusals, maxTrackedKeys } = options;
    if (rateLimited) this.rateLimited = new WindowedCounts('rate_limited_often', rateLimited, maxTrackedKeys);
    if (refusals) this.refusals = new WindowedCounts('refusal_spike', refusals, maxTrackedKeys);
  }

  ended(_context: unknown, outcome: VerificationOutcome, keyId: string | undefined): void {
    if (outcome === 'verified' || keyId === undefined) return;
    if (outcome === 'rate_limited') this.rateLimited?.count(keyId, Date.now());
    else if (outcome === 'invalid' || outcome === 'forbidden') this.refusals?.count(keyId, Date.now());
  }

  /** The counts above their threshold found since the last call (each key once per window and kind). */
  crossings(now: number = Date.now()): CountedCrossing[] {
    return [...(this.rateLimited?.crossings(now) ?? []), ...(this.refusals?.crossings(now) ?? [])];
  }
}
