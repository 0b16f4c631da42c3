import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import { ApiKeyAlerts } from './alert-notifier.js';
import { API_KEY_ALERT_TYPES } from './alert-event.js';
import {
  API_KEY_ALERT_OPTIONS,
  countsRefusals,
  resolveAlertOptions,
  type ApiKeyAlertOptions,
} from './alerts.options.js';
import { ApiKeyRefusalCounter } from './refusal-counter.js';

/**
 * Threshold alerts: `credits_low`, `uses_low`, `rate_limited_often` and `refusal_spike` per key,
 * `owner_credits_low` and `owner_refusal_spike` per owner, each crossing announced once across instances (claimed
 * by an audit row) through the change hooks of the other features (`withEvents()`, `withWebhooks()`), with the
 * threshold and the figure that crossed. Evaluated on an interval, never on the request path; refusals are counted
 * in memory by a verification hook (only when a refusal threshold is given). See docs/alerts.md.
 * @example
 * ApiKeyModule.forRoot({
 *   prefix: 'sk',
 *   features: [
 *     withEvents(),
 *     withAlerts({ credits: { belowShare: 0.1 }, rateLimited: { moreThan: 100 }, owners: { credits: { below: 500 } } }),
 *   ],
 * })
 */
export function withAlerts(options: ApiKeyFeatureOptionsInput<ApiKeyAlertOptions>): ApiKeyFeature {
  // Options given as a value say whether refusals are counted; a factory's are known at boot only.
  const counting =
    (typeof options === 'object' && options !== null && 'useFactory' in options) ||
    countsRefusals(options as ApiKeyAlertOptions);
  return {
    name: 'alerts',
    eventTypes: API_KEY_ALERT_TYPES,
    providers: () => [
      featureOptionsProvider(API_KEY_ALERT_OPTIONS, options, resolveAlertOptions),
      ...(counting ? [ApiKeyRefusalCounter] : []),
      ApiKeyAlerts,
    ],
    exports: [ApiKeyAlerts],
    ...(counting ? { verificationHook: ApiKeyRefusalCounter } : {}),
  };
}
