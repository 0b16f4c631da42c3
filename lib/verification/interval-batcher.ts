/**
 * Write-behind batching shared by the `lastUsedAt` and refused-use recorders:
 * `note` keeps one pending entry per id in memory (no I/O), at most once per
 * id per interval; a timer hands all pending entries to `write` in one call.
 * A failed write is retried with the next flush. Pure: no Nest, no TypeORM.
 */
export class IntervalBatcher<V> {
  private readonly pending = new Map<string, V>();
  private readonly writtenAt = new Map<string, number>();
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly intervalMs: number,
    private readonly write: (entries: ReadonlyMap<string, V>, now: number) => Promise<void>,
    private readonly onError: (error: unknown, count: number) => void,
  ) {}

  /** Notes an entry for `id` unless one was written less than an interval ago. O(1). */
  note(id: string, value: V, now: number = Date.now()): void {
    if (this.intervalMs === 0) return;
    const last = this.writtenAt.get(id);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (!this.pending.has(id)) this.pending.set(id, value);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes every pending entry now. Never throws. */
  async flush(now: number = Date.now()): Promise<void> {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    for (const id of batch.keys()) this.writtenAt.set(id, now);
    try {
      await this.write(batch, now);
    } catch (error) {
      this.onError(error, batch.size);
      for (const [id, value] of batch) {
        this.writtenAt.delete(id);
        if (!this.pending.has(id)) this.pending.set(id, value);
      }
    }
    for (const [id, at] of this.writtenAt) if (now - at >= this.intervalMs) this.writtenAt.delete(id);
  }

  /** Cancels the timer (pending entries stay until the next flush). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
