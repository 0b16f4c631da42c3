export { ApiKeyModule } from './api-key.module.js';
export { ApiKeyService } from './lifecycle/api-key.service.js';
export { ApiKeyGuard } from './http/api-key.guard.js';
export { ApiKeyVerifier } from './verification/api-key.verifier.js';
export { Scopes, AnyScope, Public } from './http/decorators/scopes.decorator.js';
export { CurrentApiKey } from './http/decorators/current-api-key.decorator.js';
export { ApiKeyEntity, ApiKeyColumns, apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from './storage/api-key.entity.js';
export {
  ApiKeyEventEntity,
  ApiKeyEventColumns,
  apiKeyEventEntityFor,
  DEFAULT_API_KEY_EVENTS_TABLE,
  type ApiKeyEventType,
} from './storage/api-key-event.entity.js';
export type { ListApiKeyEventsQuery } from './lifecycle/api-key-audit.log.js';
export type { ActorOption } from './lifecycle/api-key.service.js';
export type { ApiKeyModuleOptions, ApiKeyModuleExtras } from './api-key.options.js';
export type { ApiKeyPrincipal, ApiKeyRejection, ApiKeyVerification } from './verification/api-key.principal.js';
export { API_KEY_REQUEST_PROPERTY } from './verification/api-key.principal.js';
export type {
  ApiKeyRecord,
  ApiKeyPage,
  IssuedApiKey,
  IssueApiKeyInput,
  LeakedKeyResult,
  ListApiKeysQuery,
  RotateApiKeyOptions,
  RotatedApiKey,
} from './lifecycle/api-key.record.js';
export {
  ApiKeyError,
  ApiKeyFormatError,
  ApiKeyNotFoundError,
  ApiKeyReuseDetectedError,
  ApiKeyStateError,
  ApiKeyStoreUnavailableError,
  ApiKeyValidationError,
  type ApiKeyFormatFailure,
} from './api-key.errors.js';
export { ApiKeyExceptionFilter } from './http/api-key.exception-filter.js';
export {
  generateApiKey,
  parseApiKey,
  apiKeyPattern,
  type ParsedApiKey,
  type GenerateApiKeyOptions,
} from './key/key-format.js';
export { hashApiKey } from './key/key-hash.js';
export { KEY_TAG_LENGTH, type KeyTagOptions } from './key/key-tag.js';
export { matchScopes, isValidScope } from './policies/scope-matcher.js';
export type { ApiKeyCacheOptions, ApiKeyCacheInvalidation } from './cache/cache.options.js';
export { DEFAULT_CACHE_TTL_MS, DEFAULT_CACHE_MAX_ENTRIES } from './cache/cache.options.js';
export { ApiKeyCacheInvalidator } from './cache/api-key.cache-invalidator.js';
export type {
  ApiKeyInvalidation,
  ApiKeyInvalidationBus,
  ApiKeyInvalidationHandlers,
} from './cache/invalidation-bus.js';
export {
  redisInvalidationBus,
  type RedisInvalidationBusOptions,
  type RedisPublisherLike,
  type RedisSubscriberLike,
} from './cache/redis-invalidation.bus.js';
export {
  createLeakReportController,
  MAX_LEAK_REPORT_KEYS,
  type LeakReportOptions,
} from './integrations/leak-report.controller.js';
export {
  createIntrospectionController,
  type IntrospectionOptions,
} from './integrations/introspection/introspection.controller.js';
export {
  toIntrospectionResponse,
  fromIntrospectionResponse,
  API_KEY_TOKEN_TYPE,
  type IntrospectionResponse,
  type ActiveIntrospectionResponse,
  type InactiveIntrospectionResponse,
  type IntrospectionExtensions,
} from './integrations/introspection/introspection-response.js';
export { RemoteApiKeyVerifier } from './integrations/introspection/remote-verifier.js';
export { ApiKeyRemoteModule } from './integrations/introspection/remote.module.js';
export type { ApiKeyRemoteModuleExtras } from './integrations/introspection/remote.module-definition.js';
export type { ApiKeyRemoteModuleOptions, FetchFunction } from './integrations/introspection/remote.options.js';
export type { RateLimit, RateLimitStorage } from './policies/rate-limit.js';
export {
  apiKeyMigrations,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationsOptions,
} from './storage/migrations/index.js';
// Observability: lifecycle events
export {
  API_KEY_EVENT_LISTENER,
  type ApiKeyEventListener,
  type ApiKeyEventOptions,
} from './events/api-key-event.listener.js';
export {
  API_KEY_LIFECYCLE_EVENT_TYPES,
  apiKeyEventName,
  type ApiKeyLifecycleEvent,
  type ApiKeyLifecycleEventType,
} from './events/api-key-lifecycle.event.js';
export type { ApiKeyExpiryNoticeOptions } from './events/expiry-notices.options.js';
export type { ListExpiringQuery } from './lifecycle/api-key.service.js';
// Observability: per-key usage
export {
  ApiKeyUsageEntity,
  apiKeyUsageEntityFor,
  UNKNOWN_KEYS_ID,
  type ApiKeyUsageColumns,
  type ApiKeyUsageOutcome,
} from './storage/api-key-usage.entity.js';
export type { ApiKeyUsageOptions } from './verification/usage.options.js';
export type { ApiKeyUsagePoint, ApiKeyUsageQuery, ApiKeyUsageSeries } from './lifecycle/api-key-usage.reader.js';
// Observability: OpenTelemetry
export { API_KEY_TELEMETRY } from './telemetry/api-key.telemetry.js';
