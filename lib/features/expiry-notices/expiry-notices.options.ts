const DAY_MS = 86_400_000;

import { ApiKeyConfigurationError } from '../../api-key.errors.js';

/** The injection token of the resolved {@link ResolvedExpiryNoticeOptions}. */
export const API_KEY_EXPIRY_NOTICE_OPTIONS = Symbol('nestjs-opaque-keys:expiry-notice-options');

/** Options of expiry notices (`withExpiryNotices(options)`). */
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

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveExpiryNoticeOptions(options: ApiKeyExpiryNoticeOptions = {}): ResolvedExpiryNoticeOptions {
  if (typeof options !== 'object' || options === null)
    throw new ApiKeyConfigurationError('withExpiryNotices() takes an options object', 'expiryNotices');
  const thresholds = options.thresholdsMs ?? [7 * DAY_MS, DAY_MS];
  if (
    !Array.isArray(thresholds) ||
    thresholds.length === 0 ||
    thresholds.some((ms) => !Number.isInteger(ms) || ms <= 0)
  )
    throw new ApiKeyConfigurationError(
      'expiryNotices.thresholdsMs must be positive integers of ms',
      'expiryNotices.thresholdsMs',
    );
  const thresholdsMs = [...thresholds].sort((a, b) => a - b);
  const checkIntervalMs = options.checkIntervalMs ?? 3_600_000;
  if (!Number.isInteger(checkIntervalMs) || checkIntervalMs < 1000)
    throw new ApiKeyConfigurationError(
      'expiryNotices.checkIntervalMs must be an integer of at least 1000 ms',
      'expiryNotices.checkIntervalMs',
    );
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ApiKeyConfigurationError('expiryNotices.batchSize must be a positive integer', 'expiryNotices.batchSize');
  return { thresholdsMs, checkIntervalMs, batchSize };
}
