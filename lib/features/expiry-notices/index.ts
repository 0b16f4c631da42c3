/**
 * `nestjs-opaque-keys/expiry-notices`: `expiring` and `expired` notices, announced once across instances, as a
 * feature.
 * @module
 */
export { withExpiryNotices } from './expiry-notices.feature.js';
export { ApiKeyExpiryNotifier, noticeId } from './expiry-notifier.js';
export {
  API_KEY_EXPIRY_NOTICE_OPTIONS,
  type ApiKeyExpiryNoticeOptions,
  type ResolvedExpiryNoticeOptions,
} from './expiry-notices.options.js';
