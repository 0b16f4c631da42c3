import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import { ApiKeyUsageReader } from './api-key-usage.reader.js';
import { API_KEY_USAGE_ENTITY, apiKeyUsageEntityFor, usageEntities } from './api-key-usage.entity.js';
import { usageMigrations } from './migrations/index.js';
import { API_KEY_USAGE_OPTIONS, resolveUsageOptions, type ApiKeyUsageOptions } from './usage.options.js';
import { ApiKeyUsageRecorder } from './usage.recorder.js';

/**
 * Per-key usage analytics: requests per hour (or day) and outcome, counted in memory on the request path and
 * written behind in one upsert per flush; read with {@link ApiKeyUsageReader}. Brings the usage table
 * (`usageMigrations`), checked at boot.
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withUsage({ granularity: 'hour', retentionMs: 90 * 86_400_000 })] })
 */
export function withUsage(options: ApiKeyFeatureOptionsInput<ApiKeyUsageOptions> = {}): ApiKeyFeature {
  return {
    name: 'usage',
    providers: (setup) => [
      featureOptionsProvider(API_KEY_USAGE_OPTIONS, options, resolveUsageOptions),
      { provide: API_KEY_USAGE_ENTITY, useValue: apiKeyUsageEntityFor(setup.tableName) },
      ApiKeyUsageRecorder,
      ApiKeyUsageReader,
    ],
    exports: [ApiKeyUsageRecorder, ApiKeyUsageReader],
    tables: { entities: usageEntities, migrations: usageMigrations },
    verificationHook: ApiKeyUsageRecorder,
  };
}
