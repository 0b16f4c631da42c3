import { ApiKeyConfigurationError } from '../../api-key.errors.js';

/** The injection token of the resolved {@link ResolvedUsageOptions}. */
export const API_KEY_USAGE_OPTIONS = Symbol('nestjs-opaque-keys:usage-options');

/** Options of per-key usage counts (`withUsage(options)`). */
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

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveUsageOptions(options: ApiKeyUsageOptions = {}): ResolvedUsageOptions {
  if (typeof options !== 'object' || options === null)
    throw new ApiKeyConfigurationError('withUsage() takes an options object', 'usage');
  const granularity = options.granularity ?? 'hour';
  if (granularity !== 'hour' && granularity !== 'day')
    throw new ApiKeyConfigurationError("usage.granularity must be 'hour' or 'day'", 'usage.granularity');
  const flushIntervalMs = options.flushIntervalMs ?? 60_000;
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 100)
    throw new ApiKeyConfigurationError(
      'usage.flushIntervalMs must be an integer of at least 100 ms',
      'usage.flushIntervalMs',
    );
  const retentionMs = options.retentionMs;
  if (retentionMs !== undefined && !(Number.isInteger(retentionMs) && retentionMs >= 3_600_000))
    throw new ApiKeyConfigurationError(
      'usage.retentionMs must be an integer of at least one hour',
      'usage.retentionMs',
    );
  return { granularity, flushIntervalMs, retentionMs };
}
