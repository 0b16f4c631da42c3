/** Options of per-key usage counts (`usage` of `ApiKeyModule.forRoot`); off unless given. */
export interface ApiKeyUsageOptions {
  /** The bucket counts are kept in: `'hour'` (default) or `'day'` (UTC). */
  granularity?: 'hour' | 'day';
  /** How often counts are written, in ms: the most a crash can lose. Default 60000. */
  flushIntervalMs?: number;
  /** Rows older than this (ms) are deleted, checked hourly. Default: kept. */
  retentionMs?: number;
}

/** Usage options with defaults applied. */
export interface ResolvedUsageOptions {
  readonly granularity: 'hour' | 'day';
  readonly flushIntervalMs: number;
  readonly retentionMs: number | undefined;
}

/** Applies defaults and checks values; `undefined` (off) for no options. */
export function resolveUsageOptions(
  options: ApiKeyUsageOptions | boolean | undefined,
): ResolvedUsageOptions | undefined {
  if (options === undefined || options === false) return undefined;
  const given = options === true ? {} : options;
  const granularity = given.granularity ?? 'hour';
  if (granularity !== 'hour' && granularity !== 'day') throw new TypeError("usage.granularity must be 'hour' or 'day'");
  const flushIntervalMs = given.flushIntervalMs ?? 60_000;
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 100)
    throw new TypeError('usage.flushIntervalMs must be an integer of at least 100 ms');
  const retentionMs = given.retentionMs;
  if (retentionMs !== undefined && !(Number.isInteger(retentionMs) && retentionMs >= 3_600_000))
    throw new TypeError('usage.retentionMs must be an integer of at least one hour');
  return { granularity, flushIntervalMs, retentionMs };
}
