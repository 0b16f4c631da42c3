import { ApiKeyConfigurationError } from '../api-key.errors.js';

/**
 * The options of `ApiKeyModule.forRoot()` in 0.1 that moved into features, with where each went. Given to
 * today's module (a 0.1 configuration, a `forRootAsync` factory or plain JavaScript, which no type check
 * stops), each would be ignored and its feature silently off: no usage counts, no webhooks, no events.
 */
export const MOVED_OPTIONS: Readonly<Record<string, string>> = {
  usage: "features: [withUsage(...)] from 'nestjs-opaque-keys/usage'",
  events:
    "features: [withEvents(...)] from 'nestjs-opaque-keys/events' (events.webhooks: withWebhooks(...) from 'nestjs-opaque-keys/webhooks')",
  expiryNotices: "features: [withExpiryNotices(...)] from 'nestjs-opaque-keys/expiry-notices'",
};

/**
 * Refuses an option that moved into a feature, naming the feature to use instead.
 * @throws ApiKeyConfigurationError (`option`: the moved option)
 */
export function assertNoMovedOption(options: object): void {
  for (const [option, instead] of Object.entries(MOVED_OPTIONS)) {
    if (Object.hasOwn(options, option) && (options as Record<string, unknown>)[option] !== undefined) {
      throw new ApiKeyConfigurationError(
        `${option} is no longer an option of ApiKeyModule.forRoot(): use ${instead} (CHANGELOG.md, "Upgrading from 0.1")`,
        option,
      );
    }
  }
}
