const DAY_MS = 86_400_000;

/** Options of expiry notices (`expiryNotices` of `ApiKeyModule.forRoot`); off unless given. */
export interface ApiKeyExpiryNoticeOptions {
  /** How long before expiry an `expiring` notice goes out, in ms; one per key per threshold. Default 7 days and 1 day. */
  thresholdsMs?: number[];
  /** How often the scheduler looks, in ms. Default one hour. */
  checkIntervalMs?: number;
  /** Keys looked at per check (the soonest first). Default 1000. */
  batchSize?: number;
}

/** Expiry notice options with defaults applied; thresholds sorted, smallest first. */
export interface ResolvedExpiryNoticeOptions {
  readonly thresholdsMs: readonly number[];
  readonly checkIntervalMs: number;
  readonly batchSize: number;
}

/** Applies defaults and checks values; `undefined` (off) for no options. */
export function resolveExpiryNoticeOptions(
  options: ApiKeyExpiryNoticeOptions | boolean | undefined,
): ResolvedExpiryNoticeOptions | undefined {
  if (options === undefined || options === false) return undefined;
  const given = options === true ? {} : options;
  const thresholdsMs = [...(given.thresholdsMs ?? [7 * DAY_MS, DAY_MS])].sort((a, b) => a - b);
  if (thresholdsMs.length === 0 || thresholdsMs.some((ms) => !Number.isInteger(ms) || ms <= 0))
    throw new TypeError('expiryNotices.thresholdsMs must be positive integers of ms');
  const checkIntervalMs = given.checkIntervalMs ?? 3_600_000;
  if (!Number.isInteger(checkIntervalMs) || checkIntervalMs < 1000)
    throw new TypeError('expiryNotices.checkIntervalMs must be an integer of at least 1000 ms');
  const batchSize = given.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError('expiryNotices.batchSize must be positive');
  return { thresholdsMs, checkIntervalMs, batchSize };
}
