import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import {
  API_KEY_EXPIRY_NOTICE_OPTIONS,
  resolveExpiryNoticeOptions,
  type ApiKeyExpiryNoticeOptions,
} from './expiry-notices.options.js';
import { ApiKeyExpiryNotifier } from './expiry-notifier.js';

/**
 * Expiry notices: `expiring` once per key per threshold (default 7 days and 1 day before) and `expired`, each
 * announced once across instances (claimed by an audit row), through the change hooks of the other features
 * (`withEvents()`, `withWebhooks()`). Checked on an interval (`@nestjs/schedule`'s registry when present).
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withEvents(), withExpiryNotices({ thresholdsMs: [86_400_000] })] })
 */
export function withExpiryNotices(options: ApiKeyFeatureOptionsInput<ApiKeyExpiryNoticeOptions> = {}): ApiKeyFeature {
  return {
    name: 'expiry-notices',
    providers: () => [
      featureOptionsProvider(API_KEY_EXPIRY_NOTICE_OPTIONS, options, resolveExpiryNoticeOptions),
      ApiKeyExpiryNotifier,
    ],
    exports: [ApiKeyExpiryNotifier],
  };
}
