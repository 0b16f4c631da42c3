import { Inject, Injectable } from '@nestjs/common';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import type { ApiKeyAlertType } from './alert-event.js';
import { API_KEY_ALERT_OPTIONS, type ResolvedAlertOptions, type ResolvedRefusalThreshold } from './alerts.options.js';

/** One window's counts of one kind of refusal, per key id. */
export interface RefusalWindow {
  /** The window's start, epoch ms (a multiple of its length). */
  readonly start: number;
  readonly counts: Map<string, number>;
}

/** A key's count above its threshold, ready to be claimed. */
export interface CountedCrossing {
  readonly type: ApiKeyAlertType;
  readonly keyId: string;
  readonly count: number;
  readonly threshold: ResolvedRefusalThreshold;
  readonly windowStart: number;
}

/** Counts of one kind in fixed windows aligned to the epoch: the current one and the one just ended. */
class WindowedCounts {
  private current: RefusalWindow = { start: 0, counts: new Map() };
  private ended: RefusalWindow | undefined;
  /** Keys of the current window already handed over as crossings. */
  private handed = new Set<string>();
  private handedEnded = new Set<string>();

  constructor(
    readonly type: ApiKeyAlertType,
    readonly threshold: ResolvedRefusalThreshold,
    private readonly maxKeys: number,
  ) {}

  /** O(1): one map read and write (and a window swap once per window). */
  count(keyId: string, now: number): void {
    this.roll(now);
    const counts = this.current.counts;
    const count = counts.get(keyId);
    if (count !== undefined) counts.set(keyId, count + 1);
    else if (counts.size < this.maxKeys) counts.set(keyId, 1);
  }

  /** The counts above the threshold not handed over yet, in the window just ended and the current one. */
  crossings(now: number): CountedCrossing[] {
    this.roll(now);
    const found: CountedCrossing[] = [];
    if (this.ended) this.collect(this.ended, this.handedEnded, found);
    this.ended = undefined;
    this.collect(this.current, this.handed, found);
    return found;
  }

  private collect(window: RefusalWindow, handed: Set<string>, found: CountedCrossing[]): void {
    for (const [keyId, count] of window.counts) {
      if (count <= this.threshold.moreThan || handed.has(keyId)) continue;
      handed.add(keyId);
      found.push({ type: this.type, keyId, count, threshold: this.threshold, windowStart: window.start });
    }
  }

  private roll(now: number): void {
    const start = now - (now % this.threshold.windowMs);
    if (start === this.current.start) return;
    // A window older than the one just ended was never evaluated (no check ran): it is dropped with its counts.
    this.ended = start - this.current.start === this.threshold.windowMs ? this.current : undefined;
    this.handedEnded = this.handed;
    this.current = { start, counts: new Map() };
    this.handed = new Set();
  }
}

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
