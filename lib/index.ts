/**
 * `nestjs-opaque-keys`: the core. Opaque, hashed, scannable API keys checked live against the host's database
 * on every request: the module, the guard and its decorators, the service, the key and audit entities and their
 * migrations, the lookup cache, limits and credits, and the extension point features plug into. Every feature
 * is its own entry (`nestjs-opaque-keys/<feature>`); nothing here loads one.
 * @module
 */

// The module, the guard, the service
export { ApiKeyModule } from './module/api-key.module.js';
export type { ApiKeyModuleOptions } from './api-key.options.js';
export type { ApiKeyModuleExtras } from './module/api-key.extras.js';
export { ApiKeyGuard } from './http/api-key.guard.js';
export { ApiKeyService, type ActorOption } from './lifecycle/api-key.service.js';
export type { ListExpiringQuery } from './lifecycle/api-key.queries.js';
export { ApiKeyVerifier } from './verification/api-key.verifier.js';
export { API_KEY_VERIFIER, type KeyVerifier } from './verification/key-verifier.js';
export { ApiKeyGuardFor, InjectApiKeyService, getApiKeySetupToken } from './module/api-key.setups.js';
export { ApiKeyExceptionFilter } from './http/api-key.exception-filter.js';

// Decorators and the principal
export { Scopes, AnyScope, Public } from './http/decorators/scopes.decorator.js';
export { CurrentApiKey } from './http/decorators/current-api-key.decorator.js';
export { OptionalApiKey, apiKeyPrincipalOf } from './http/decorators/optional-api-key.decorator.js';
export { Cost, DEFAULT_ROUTE_COST } from './http/decorators/cost.decorator.js';
export type { ExtractedCredential } from './http/credential.js';
export type { ApiKeyPrincipal, ApiKeyRejection, ApiKeyVerification } from './verification/api-key.principal.js';
export { API_KEY_REQUEST_PROPERTY } from './verification/api-key.principal.js';

// Records and inputs of the service
export type {
  ActingOptions,
  ApiKeyPage,
  ApiKeyRecord,
  ApiKeyStatus,
  ApiKeyStatusColumns,
  IssueApiKeyInput,
  IssuedApiKey,
  LeakedKeyResult,
  ListApiKeysQuery,
  RotateApiKeyOptions,
  RotatedApiKey,
} from './lifecycle/api-key.record.js';
export { API_KEY_STATUSES, apiKeyStatus } from './lifecycle/api-key.record.js';
export type { ApiKeyUpdate, UpdatableField } from './lifecycle/api-key.update.js';
export type { ListApiKeyEventsQuery } from './lifecycle/api-key.queries.js';

// Errors, and their stable codes (docs/errors.md)
export {
  ApiKeyError,
  ApiKeyConfigurationError,
  ApiKeyDelegationError,
  ApiKeyFormatError,
  ApiKeyLimitError,
  ApiKeyNotFoundError,
  ApiKeyReuseDetectedError,
  ApiKeyStateError,
  ApiKeyStoreUnavailableError,
  ApiKeyValidationError,
  type ApiKeyDelegationFailure,
  type ApiKeyFormatFailure,
  type ApiKeyState,
} from './api-key.errors.js';
export {
  API_KEY_ERROR_CODES,
  type ApiKeyErrorCode,
  type ApiKeyErrorCodeInfo,
  type ApiKeyErrorStatus,
} from './api-key.error-codes.js';

// The key itself: format, hashing, the keyed tag
export {
  generateApiKey,
  parseApiKey,
  apiKeyPattern,
  type ParsedApiKey,
  type GenerateApiKeyOptions,
} from './key/key-format.js';
export { hashApiKey } from './key/key-hash.js';
export { KEY_TAG_LENGTH, type KeyTagOptions } from './key/key-tag.js';

// Policies: scopes, delegation, limits, credits, allowlists
export { matchScopes, isValidScope } from './policies/scope-matcher.js';
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
export type { RateLimit, RateLimitBackend, RateLimitCount, RateLimitStorage } from './policies/rate-limit.js';
export type { RateLimitCounter } from './verification/rate-limit-counters.js';
export {
  MAX_CREDITS,
  MIN_REFILL_INTERVAL_MS,
  MAX_REFILL_INTERVAL_MS,
  type CreditsInput,
  type CreditRefill,
} from './policies/credits.js';
export { validateCredits } from './policies/api-key.input.js';
export { validateAllowedIps, MAX_ALLOWED_IPS, type IpAllowlist } from './policies/ip-allowlist.js';
export { creditColumns, type CreditColumns } from './lifecycle/api-key.credits.js';

// Storage: entities and migrations of the core's two tables
export { ApiKeyEntity, ApiKeyColumns, apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from './storage/api-key.entity.js';
export {
  ApiKeyEventEntity,
  ApiKeyEventColumns,
  apiKeyEventEntityFor,
  DEFAULT_API_KEY_EVENTS_TABLE,
  type ApiKeyEventType,
} from './storage/api-key-event.entity.js';
export { apiKeyEntities, API_KEY_ENTITIES, type ApiKeyEntityClass } from './storage/api-key-entities.js';
export {
  apiKeyMigrations,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationsOptions,
} from './storage/migrations/index.js';

// The lookup cache
export type { ApiKeyCacheOptions, ApiKeyCacheInvalidation } from './cache/cache.options.js';
export {
  DEFAULT_CACHE_TTL_MS,
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS,
  DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS,
} from './cache/cache.options.js';
export { ApiKeyCacheInvalidator } from './cache/api-key.cache-invalidator.js';
export type {
  ApiKeyInvalidation,
  ApiKeyInvalidationBus,
  ApiKeyInvalidationHandlers,
  ApiKeyListenerHeartbeat,
} from './cache/invalidation-bus.js';
export {
  redisInvalidationBus,
  type RedisInvalidationBusOptions,
  type RedisPublisherLike,
  type RedisSubscriberLike,
} from './cache/redis-invalidation.bus.js';

// The extension point: what a feature brings, and the hooks it may implement
export type { ApiKeyFeature, ApiKeyFeatureEntity, ApiKeyFeatureTables, ApiKeySetup } from './module/api-key-feature.js';
export type { ApiKeyFeatureOptionsFactory, ApiKeyFeatureOptionsInput } from './module/feature-options.js';
export type { ApiKeyChangeHook } from './lifecycle/change-hook.js';
export type { ApiKeyVerificationHook, VerificationOutcome } from './verification/verification-hook.js';
export type { ApiKeyLegacyKeys, LegacyKeyMatch } from './verification/legacy-keys.js';
export {
  API_KEY_LIFECYCLE_EVENT_TYPES,
  apiKeyEventName,
  type ApiKeyLifecycleEvent,
  type ApiKeyLifecycleEventType,
} from './lifecycle/api-key-lifecycle.event.js';
