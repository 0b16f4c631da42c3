import type { Logger } from '@nestjs/common';

type Level = 'debug' | 'warn' | 'error';

interface Bucket {
  readonly level: Level;
  readonly message: string;
  repeats: number;
}

/** Buckets kept per interval at most; past it, lines share one overflow bucket per level. */
export const MAX_LOG_BUCKETS = 1000;

/**
 * Aggregates the guard's repeated log lines, so log volume is not in the
 * client's hands: the first line of a bucket (a key id and a reason, one
 * bucket for all unknown keys, one per kind of store failure) is written at
 * once, the repeats within `intervalMs` are counted, and one summary line per
 * bucket reports them when the interval ends. Memory is bounded: at most
 * {@link MAX_LOG_BUCKETS} buckets per interval. `intervalMs: 0` writes every line.
 */
export class RejectionLog {
  private readonly buckets = new Map<string, Bucket>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly logger: Pick<Logger, Level>,
    private readonly intervalMs: number,
  ) {}

  /** Notes one occurrence of `bucket`; `message` must carry no client-controlled text. */
  note(level: Level, bucket: string, message: string): void {
    if (this.intervalMs <= 0) return this.logger[level](message);
    let id = `${level}:${bucket}`;
    if (!this.buckets.has(id) && this.buckets.size >= MAX_LOG_BUCKETS) {
      id = `${level}:overflow`;
      message = `more ${level} lines of other kinds (over ${MAX_LOG_BUCKETS} kinds in ${this.intervalMs} ms), e.g. ${message}`;
    }
    const seen = this.buckets.get(id);
    if (seen) {
      seen.repeats++;
      return;
    }
    this.buckets.set(id, { level, message, repeats: 0 });
    this.logger[level](message);
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs).unref();
  }

  /** Writes the summary of every bucket that repeated, and starts a new interval. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const seconds = Math.round(this.intervalMs / 100) / 10;
    for (const { level, message, repeats } of this.buckets.values()) {
      if (repeats > 0) this.logger[level](`${message} (${repeats} more in the last ${seconds} s)`);
    }
    this.buckets.clear();
  }
}
