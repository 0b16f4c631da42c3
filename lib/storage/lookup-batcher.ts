/** Runs one statement for a batch of distinct keys: what it found, by key (absent keys: not found). */
export type BatchLoad<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

interface Waiting<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

/**
 * Gathers the lookups that start in one turn of the event loop and sends them
 * as one batch (for the store: one `WHERE hash = ANY($1)` statement), DataLoader style: under load,
 * requests parsed in the same poll phase share a database round trip.
 *
 * Unlike sharing a lookup already in flight, this never answers a request
 * with a statement sent before the request arrived: the batch is sent after
 * every lookup in it was asked for, so a request that starts after a change
 * committed always sees the change. Nothing is kept once a batch settles.
 * Pure: no Nest, no TypeORM.
 */
export class LookupBatcher<K, V> {
  private queue = new Map<K, Waiting<V>[]>();
  private scheduled = false;

  /**
   * @param load runs one batch
   * @param maxBatch most distinct keys per statement; a fuller queue is sent in several
   * @param onBatch told the number of distinct keys of each batch as it is sent (counts for telemetry)
   */
  constructor(
    private readonly load: BatchLoad<K, V>,
    private readonly maxBatch = 64,
    private readonly onBatch?: (size: number) => void,
  ) {}

  /** What the batch this lookup joins finds for `key` (`undefined`: not found). Rejects when the batch fails. */
  find(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiting = this.queue.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.queue.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends everything queued, `maxBatch` keys per statement. */
  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = new Map();
    const keys = [...queued.keys()];
    for (let start = 0; start < keys.length; start += this.maxBatch) {
      const batch = keys.slice(start, start + this.maxBatch);
      this.onBatch?.(batch.length);
      this.load(batch).then(
        (found) => {
          for (const key of batch) for (const waiting of queued.get(key)!) waiting.resolve(found.get(key));
        },
        (error: unknown) => {
          for (const key of batch) for (const waiting of queued.get(key)!) waiting.reject(error);
        },
      );
    }
  }
}
