import type { ApiKeyAlertType } from './alert-event.js';
import type { ResolvedRefusalThreshold } from './alerts.options.js';

/** One window's counts of one kind of refusal, per subject (a key id, or an owner id). */
export interface RefusalWindow {
  /** The window's start, epoch ms (a multiple of its length). */
  readonly start: number;
  readonly counts: Map<string, number>;
}

/** A subject's count above its threshold, ready to be claimed. */
export interface CountedCrossing {
  readonly type: ApiKeyAlertType;
  /** The key id, or the owner id for `owner_refusal_spike`. */
  readonly subject: string;
  readonly count: number;
  readonly threshold: ResolvedRefusalThreshold;
  readonly windowStart: number;
}

/**
 * Counts of one kind in fixed windows aligned to the epoch, per subject: the current window and the one just
 * ended. At most `maxSubjects` subjects per window: memory stays bounded under a flood of distinct subjects.
 */
export class WindowedCounts {
  private current: RefusalWindow = { start: 0, counts: new Map() };
  private ended: RefusalWindow | undefined;
  /** Subjects of the current window already handed over as crossings. */
  private handed = new Set<string>();
  private handedEnded = new Set<string>();

  constructor(
    readonly type: ApiKeyAlertType,
    readonly threshold: ResolvedRefusalThreshold,
    private readonly maxSubjects: number,
  ) {}

  /** O(1): one map read and write (and a window swap once per window). */
  count(subject: string, now: number): void {
    this.roll(now);
    const counts = this.current.counts;
    const count = counts.get(subject);
    if (count !== undefined) counts.set(subject, count + 1);
    else if (counts.size < this.maxSubjects) counts.set(subject, 1);
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
    for (const [subject, count] of window.counts) {
      if (count <= this.threshold.moreThan || handed.has(subject)) continue;
      handed.add(subject);
      found.push({ type: this.type, subject, count, threshold: this.threshold, windowStart: window.start });
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
