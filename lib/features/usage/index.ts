/**
 * `nestjs-opaque-keys/usage`: per-key usage analytics (requests per bucket and outcome), as a feature.
 * @module
 */
export { withUsage } from './usage.feature.js';
export { ApiKeyUsageRecorder, USAGE_ROWS_PER_STATEMENT } from './usage.recorder.js';
export {
  ApiKeyUsageReader,
  MAX_USAGE_POINTS,
  type ApiKeyUsagePoint,
  type ApiKeyUsageQuery,
  type ApiKeyUsageSeries,
} from './api-key-usage.reader.js';
export {
  ApiKeyUsageEntity,
  ApiKeyUsageColumns,
  apiKeyUsageEntityFor,
  usageTableFor,
  usageEntities,
  UNKNOWN_KEYS_ID,
  DEFAULT_API_KEY_USAGE_TABLE,
  type ApiKeyUsageOutcome,
} from './api-key-usage.entity.js';
export { API_KEY_USAGE_OPTIONS, type ApiKeyUsageOptions, type ResolvedUsageOptions } from './usage.options.js';
export { usageMigrations, AddUsageMigration } from './migrations/index.js';
