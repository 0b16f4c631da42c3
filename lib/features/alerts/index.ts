/**
 * `nestjs-opaque-keys/alerts`: threshold alerts (low credits or uses, rate-limit refusals, a spike of refused
 * requests, per key or per owner), each crossing announced once across instances, as a feature.
 * @module
 */
export { withAlerts } from './alerts.feature.js';
export { ApiKeyAlerts } from './alert-notifier.js';
export { ApiKeyRefusalCounter } from './refusal-counter.js';
export {
  API_KEY_ALERT_TYPES,
  OWNER_ALERT_KEY_ID,
  alertClaimId,
  apiKeyAlertEventName,
  asApiKeyAlert,
  type ApiKeyAlert,
  type ApiKeyAlertDetails,
  type ApiKeyAlertType,
  type ApiKeyOwnerAlertType,
} from './alert-event.js';
export {
  API_KEY_ALERT_OPTIONS,
  type ApiKeyAlertOptions,
  type ApiKeyOwnerAlertOptions,
  type ApiKeyRefusalThreshold,
  type ResolvedAlertOptions,
  type ResolvedRefusalThreshold,
} from './alerts.options.js';
