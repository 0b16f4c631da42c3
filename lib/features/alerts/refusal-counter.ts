import { Inject, Injectable } from '@nestjs/common';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import { API_KEY_ALERT_OPTIONS, type ResolvedAlertOptions } from './alerts.options.js';
import { WindowedCounts, type CountedCrossing } from './windowed-counts.js';

/**
 * The verification hook of `withAlerts()`: counts rate-limit refusals (`rate_limited`) and refusals of known keys
 * (`invalid`, `forbidden`) per key id, and the latter per owner id too (as the row read for the request says:
 * the guard passes it, nothing is queried; keys without an owner count for no owner), in memory, per instance.
 * O(1) per request, no I/O; a verified request returns at the first comparison. The alert check reads the counts
 * on its interval.
 */
@Injectable()
export class ApiKeyRefusalCounter implements ApiKeyVerificationHook {
  private readonly rateLimited: WindowedCounts | undefined;
  private readonly refusals: WindowedCounts | undefined;
  private readonly ownerRefusals: WindowedCounts | undefined;

  constructor(@Inject(API_KEY_ALERT_OPTIONS) options: ResolvedAlertOptions) {
    const { rateLimited, refusals, ownerRefusals, maxTrackedKeys } = options;
    if (rateLimited) this.rateLimited = new WindowedCounts('rate_limited_often', rateLimited, maxTrackedKeys);
    if (refusals) this.refusals = new WindowedCounts('refusal_spike', refusals, maxTrackedKeys);
    if (ownerRefusals) this.ownerRefusals = new WindowedCounts('owner_refusal_spike', ownerRefusals, maxTrackedKeys);
  }

  ended(
    _context: unknown,
    outcome: VerificationOutcome,
    keyId: string | undefined,
    _address?: string,
    ownerId?: string | null,
  ): void {
    if (outcome === 'verified' || keyId === undefined) return;
    if (outcome === 'rate_limited') this.rateLimited?.count(keyId, Date.now());
    else if (outcome === 'invalid' || outcome === 'forbidden') {
      const now = Date.now();
      this.refusals?.count(keyId, now);
      if (typeof ownerId === 'string') this.ownerRefusals?.count(ownerId, now);
    }
  }

  /** The counts above their threshold found since the last call (each key or owner once per window and kind). */
  crossings(now: number = Date.now()): CountedCrossing[] {
    return [
      ...(this.rateLimited?.crossings(now) ?? []),
      ...(this.refusals?.crossings(now) ?? []),
      ...(this.ownerRefusals?.crossings(now) ?? []),
    ];
  }
}
