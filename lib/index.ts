export { ApiKeyModule } from './api-key.module.js';
export { ApiKeyService } from './api-key.service.js';
export { ApiKeyGuard } from './api-key.guard.js';
export { ApiKeyVerifier } from './api-key.verifier.js';
export { Scopes, AnyScope, Public } from './decorators/scopes.decorator.js';
export { CurrentApiKey } from './decorators/current-api-key.decorator.js';
export { ApiKeyEntity, ApiKeyColumns, apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from './api-key.entity.js';
export {
  ApiKeyEventEntity,
  ApiKeyEventColumns,
  apiKeyEventEntityFor,
  DEFAULT_API_KEY_EVENTS_TABLE,
  type ApiKeyEventType,
} from './api-key-event.entity.js';
export { ApiKeyAuditLog, type ListApiKeyEventsQuery, type ApiKeyEventInput } from './api-key-audit.log.js';
export type { ActorOption } from './api-key.service.js';
export type { ApiKeyModuleOptions, ApiKeyModuleExtras } from './api-key.options.js';
export type { ApiKeyPrincipal, ApiKeyRejection, ApiKeyVerification } from './api-key.principal.js';
export { API_KEY_REQUEST_PROPERTY } from './api-key.principal.js';
export type {
  ApiKeyRecord,
  ApiKeyPage,
  IssuedApiKey,
  IssueApiKeyInput,
  LeakedKeyResult,
  ListApiKeysQuery,
  RotateApiKeyOptions,
  RotatedApiKey,
} from './api-key.record.js';
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
export { ApiKeyExceptionFilter } from './api-key.exception-filter.js';
export { generateApiKey, parseApiKey, apiKeyPattern, type ParsedApiKey, type GenerateApiKeyOptions } from './key-format.js';
export { hashApiKey } from './key-hash.js';
export { matchScopes, grantCovers, isValidScope, type ScopeRequirement } from './scope-matcher.js';
export type { ApiKeyStore, StoredApiKey } from './api-key.store.js';
export type { ApiKeyCacheOptions, ApiKeyCacheInvalidation } from './cache.options.js';
export { DEFAULT_CACHE_TTL_MS, DEFAULT_CACHE_MAX_ENTRIES } from './cache.options.js';
export { ApiKeyCacheInvalidator } from './api-key.cache-invalidator.js';
export type { ApiKeyInvalidation, ApiKeyInvalidationBus, ApiKeyInvalidationHandlers } from './invalidation-bus.js';
export { PostgresInvalidationBus, type PostgresInvalidationBusOptions } from './postgres-invalidation.bus.js';
export {
  redisInvalidationBus,
  type RedisInvalidationBusOptions,
  type RedisPublisherLike,
  type RedisSubscriberLike,
} from './redis-invalidation.bus.js';
export { createLeakReportController, MAX_LEAK_REPORT_KEYS, type LeakReportOptions } from './leak-report.controller.js';
export { resolveExpiry, type ExpiryPolicy } from './expiry-policy.js';
export { createIntrospectionController, type IntrospectionOptions } from './introspection/introspection.controller.js';
export {
  toIntrospectionResponse,
  fromIntrospectionResponse,
  API_KEY_TOKEN_TYPE,
  type IntrospectionResponse,
  type ActiveIntrospectionResponse,
  type InactiveIntrospectionResponse,
  type IntrospectionExtensions,
} from './introspection/introspection-response.js';
export { RemoteApiKeyVerifier } from './introspection/remote-verifier.js';
export { ApiKeyRemoteModule } from './introspection/remote.module.js';
export type { ApiKeyRemoteModuleExtras } from './introspection/remote.module-definition.js';
export type { ApiKeyRemoteModuleOptions, FetchFunction } from './introspection/remote.options.js';
export { ApiKeyRateLimiter } from './rate-limiter.js';
export { validateRateLimit, type RateLimit, type RateLimitStorage, type RateLimitDecision } from './rate-limit.js';
export {
  apiKeyMigrations,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationsOptions,
} from './migrations/index.js';
