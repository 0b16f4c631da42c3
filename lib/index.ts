export { ApiKeyModule } from './module/api-key.module.js';
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
} from './features/secret-scanning/leak-report.controller.js';
export {
  createIntrospectionController,
  type IntrospectionOptions,
} from './features/introspection/introspection.controller.js';
export {
  toIntrospectionResponse,
  fromIntrospectionResponse,
  API_KEY_TOKEN_TYPE,
  type IntrospectionResponse,
  type ActiveIntrospectionResponse,
  type InactiveIntrospectionResponse,
  type IntrospectionExtensions,
} from './features/introspection/introspection-response.js';
export { RemoteApiKeyVerifier } from './features/introspection/remote-verifier.js';
export { ApiKeyRemoteModule } from './features/introspection/remote.module.js';
export type { ApiKeyRemoteModuleExtras } from './features/introspection/remote.module-definition.js';
export type { ApiKeyRemoteModuleOptions, FetchFunction } from './features/introspection/remote.options.js';
export type { RateLimit, RateLimitStorage } from './policies/rate-limit.js';
export {
  apiKeyMigrations,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationsOptions,
} from './storage/migrations/index.js';
// Secret scanning: GitHub's partner program (signed alerts).
export {
  createGitHubSecretScanningController,
  GITHUB_SECRET_SCANNING_ACTOR,
  MAX_GITHUB_ALERT_MATCHES,
  type GitHubSecretScanningOptions,
  type GitHubSecretScanningResult,
} from './features/secret-scanning/github-secret-scanning.controller.js';
export {
  GITHUB_SECRET_SCANNING_KEYS_URL,
  type GitHubPublicKeysOptions,
  type PublicKeysFetch,
} from './features/secret-scanning/github-public-keys.js';
// Use limits and credits (refill, per-route cost), shared by a rotation family
export { Cost, DEFAULT_ROUTE_COST } from './http/decorators/cost.decorator.js';
export { ApiKeyCredits, creditColumns, type CreditColumns } from './lifecycle/api-key.credits.js';
export { validateCredits } from './policies/api-key.input.js';
export {
  MAX_CREDITS,
  MIN_REFILL_INTERVAL_MS,
  MAX_REFILL_INTERVAL_MS,
  type CreditsInput,
  type CreditRefill,
} from './policies/credits.js';

// cache: liveness of the invalidation listener
export type { ApiKeyListenerHeartbeat } from './cache/invalidation-bus.js';
export { DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS, DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS } from './cache/cache.options.js';
// Guard: several key setups, the verifier token, optional mode.
export { ApiKeyGuardFor, InjectApiKeyService, getApiKeySetupToken } from './module/api-key.setups.js';
export { API_KEY_VERIFIER, type KeyVerifier } from './verification/key-verifier.js';
export { OptionalApiKey, apiKeyPrincipalOf } from './http/decorators/optional-api-key.decorator.js';
export type { ExtractedCredential } from './http/credential-extractor.js';
// Key controls: delegation, disable/enable/update, IP allowlists, owner limits.
export { ApiKeyDelegationError, ApiKeyLimitError, type ApiKeyDelegationFailure } from './api-key.errors.js';
export type { ActingOptions, ApiKeyStatus } from './lifecycle/api-key.record.js';
export type { ApiKeyUpdate, UpdatableField } from './lifecycle/api-key.update.js';
export { validateAllowedIps, MAX_ALLOWED_IPS, type IpAllowlist } from './policies/ip-allowlist.js';
export {
  ANY_OWNER_SCOPE,
  assertMayChange,
  assertMayGrant,
  assertMayManage,
  assertMayRevokeAll,
  isOwnFamily,
  managesEnvironment,
  reachesOwner,
  readBounds,
  uncoveredScopes,
  type DelegatingKey,
  type DelegatedKey,
  type DelegationPolicy,
  type KeyChange,
  type ManagedKey,
  type ReadBounds,
} from './policies/delegation.js';
// Boot checks:
export { apiKeyEntities, API_KEY_ENTITIES, type ApiKeyEntityClass } from './storage/api-key-entities.js';
export { ApiKeyConfigurationError } from './api-key.errors.js';
// Rate limits: per rotation family and per owner, counted with rate-limiter-flexible
export type { RateLimitBackend, RateLimitCount } from './policies/rate-limit.js';
export { type RateLimitCounter } from './verification/rate-limit-counter.js';
// Observability: lifecycle events
export {
  API_KEY_EVENT_LISTENER,
  type ApiKeyEventListener,
  type ApiKeyEventOptions,
} from './features/events/api-key-event.listener.js';
export {
  API_KEY_LIFECYCLE_EVENT_TYPES,
  apiKeyEventName,
  type ApiKeyLifecycleEvent,
  type ApiKeyLifecycleEventType,
} from './lifecycle/api-key-lifecycle.event.js';
export type { ApiKeyExpiryNoticeOptions } from './features/expiry-notices/expiry-notices.options.js';
export type { ListExpiringQuery } from './lifecycle/api-key.service.js';
// Observability: per-key usage
export {
  ApiKeyUsageEntity,
  apiKeyUsageEntityFor,
  UNKNOWN_KEYS_ID,
  type ApiKeyUsageColumns,
  type ApiKeyUsageOutcome,
} from './features/usage/api-key-usage.entity.js';
export type { ApiKeyUsageOptions } from './features/usage/usage.options.js';
export type { ApiKeyUsagePoint, ApiKeyUsageQuery, ApiKeyUsageSeries } from './features/usage/api-key-usage.reader.js';
// Observability: OpenTelemetry
export { API_KEY_TELEMETRY } from './features/telemetry/api-key.telemetry.js';
// Introspection clients (client_secret_basic / client_secret_post):
export { IntrospectionClientGuard } from './features/introspection/introspection-client.guard.js';
// Webhooks: lifecycle events POSTed, signed per Standard Webhooks, through a transactional outbox
export {
  ApiKeyWebhookDeliveryEntity,
  ApiKeyWebhookDeliveryColumns,
  apiKeyWebhookDeliveryEntityFor,
  DEFAULT_API_KEY_WEBHOOK_DELIVERIES_TABLE,
  type ApiKeyWebhookDeliveryStatus,
} from './features/webhooks/api-key-webhook-delivery.entity.js';
export {
  ApiKeyWebhookLog,
  type ApiKeyWebhookDelivery,
  type ListWebhookDeliveriesQuery,
  type PurgeWebhookDeliveriesOptions,
} from './features/webhooks/api-key-webhook.log.js';
export { ApiKeyWebhookDispatcher } from './features/webhooks/webhook-dispatcher.js';
export type { ApiKeyWebhookEndpoint, ApiKeyWebhookOptions } from './features/webhooks/webhook.options.js';
