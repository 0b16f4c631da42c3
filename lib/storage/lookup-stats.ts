/** What a replica lag gate (lib/storage/replica-lag.ts) tells readers (telemetry, health checks, tests): plain fields, read at will. */
export interface ReplicaLagReading {
  /**
   * The replica's lag at the last check, in ms (an upper bound; past `maxLagMs`, how long the check waited);
   * `undefined` before the first check or when the check failed.
   */
  readonly lagMs: number | undefined;
  /** Whether the guard's lookups go to the replica now (`false`: to the primary). */
  readonly onReplica: boolean;
  /** Lookup statements sent to the primary because the replica was over the bound or could not be checked. */
  readonly bypasses: number;
  /** Checks run so far (each at most one primary and a few replica statements). */
  readonly checks: number;
}

/** Where each batch's size goes besides the counts (telemetry's histogram). */
export interface BatchSizeSink {
  record(size: number): void;
}

/**
 * Counts of the hot-path lookups of one key setup, kept by the lookup cache
 * (hits and misses) and the lookup batcher (statements sent, keys in them),
 * read by telemetry. Plain integer fields bumped in place: no allocation, no
 * I/O, no clock. The counts are cumulative and never reset; a reader keeps
 * its own previous values to get a difference. They say nothing about which
 * keys were looked up.
 */
export class LookupStats {
  /** Lookups the cache answered. */
  cacheHits = 0;
  /** Lookups the cache could not answer (not held, expired, or the cache suspended): they read the database. */
  cacheMisses = 0;
  /** Batched lookup statements sent. */
  batches = 0;
  /** Distinct keys in those statements, all added up. */
  batchedKeys = 0;
  /** Also told each batch's size, when set (by telemetry, once it is on). */
  batchSizes: BatchSizeSink | undefined = undefined;
  /** With `maxReplicaLagMs`: the replica's last measured lag, where lookups go, and how many went to the primary. */
  replicaLag: ReplicaLagReading | undefined = undefined;

  /**
   * @param setup the key setup's name (`ApiKeyModule.forRoot({ name })`), or
   *   `undefined` for the app's one unnamed setup: it tells two setups' series apart.
   */
  constructor(readonly setup?: string) {}

  /** A batched lookup statement for `size` distinct keys was sent. */
  batchSent(size: number): void {
    this.batches++;
    this.batchedKeys += size;
    this.batchSizes?.record(size);
  }
}
