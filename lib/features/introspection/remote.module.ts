import { Module } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ApiKeyGuard } from '../../http/api-key.guard.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyVerifier } from '../../verification/api-key.verifier.js';
import { LastUsedRecorder } from '../../verification/write-behind.js';
import { ApiKeyRateLimiter } from '../../verification/rate-limiter.js';
import { REMOTE_MODULE_OPTIONS, RemoteModuleClass } from './remote.module-definition.js';
import {
  REMOTE_INTROSPECTION_OPTIONS,
  ResolvedRemoteOptions,
  type ApiKeyRemoteModuleOptions,
} from './remote.options.js';
import { RemoteApiKeyVerifier } from './remote-verifier.js';
import { API_KEY_VERIFIER } from '../../verification/key-verifier.js';

/** `lastUsedAt` is the key store's business: requests served here note nothing. */
const NO_LAST_USED: Pick<LastUsedRecorder, 'touch' | 'flush'> = { touch() {}, flush: async () => {} };

function localOptions(raw: ApiKeyRemoteModuleOptions): ResolvedApiKeyOptions {
  const { prefix, environments, bearer, header, realm, retryAfterSeconds } = raw;
  const { rateLimit, rateLimitStorage, rateLimitBackend, ownerRateLimit } = raw;
  return new ResolvedApiKeyOptions({
    ...{ prefix, environments, bearer, header, realm, retryAfterSeconds },
    ...{ rateLimit, rateLimitStorage, rateLimitBackend, ownerRateLimit },
    lastUsedIntervalMs: 0,
    auditUseIntervalMs: 0,
  });
}

/**
 * `ApiKeyGuard`, `@Scopes()` and `@CurrentApiKey()` for a service without the
 * key database: keys are checked by the key store's introspection endpoint
 * (`createIntrospectionController`), with answers cached for `cacheTtlMs`.
 * No TypeORM DataSource is needed. The key store outage gives 503.
 * Provides `RemoteApiKeyVerifier` under `API_KEY_VERIFIER` (the guard's
 * {@link KeyVerifier}, and as `ApiKeyVerifier` for hosts that inject that); `ApiKeyService` is not
 * available here. Next to an `ApiKeyModule` in the same app, give that module a `name`
 * (its guard is then `ApiKeyGuardFor(name)`): each verifies for itself.
 * @example
 * @Module({
 *   imports: [
 *     ApiKeyRemoteModule.forRoot({
 *       introspectionUrl: 'https://keys.internal/oauth/introspect',
 *       introspectionKey: process.env.INTROSPECTION_KEY!,
 *       prefix: 'acme',
 *       cacheTtlMs: 5000,
 *     }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({
  providers: [
    { provide: API_KEY_OPTIONS, useFactory: localOptions, inject: [REMOTE_MODULE_OPTIONS] },
    {
      provide: REMOTE_INTROSPECTION_OPTIONS,
      useFactory: (raw: ApiKeyRemoteModuleOptions) => new ResolvedRemoteOptions(raw),
      inject: [REMOTE_MODULE_OPTIONS],
    },
    // The guard's verifier: the introspection client (both implement KeyVerifier).
    RemoteApiKeyVerifier,
    { provide: API_KEY_VERIFIER, useExisting: RemoteApiKeyVerifier },
    // Kept for hosts that inject ApiKeyVerifier (verify / consumeUse) in a remote service.
    { provide: ApiKeyVerifier, useExisting: RemoteApiKeyVerifier },
    { provide: LastUsedRecorder, useValue: NO_LAST_USED },
    // Keys' own rate limits come with the introspection answer; counted here, per service.
    ApiKeyRateLimiter,
    ApiKeyGuard,
  ],
  exports: [
    ApiKeyGuard,
    API_KEY_VERIFIER,
    ApiKeyVerifier,
    RemoteApiKeyVerifier,
    LastUsedRecorder,
    ApiKeyRateLimiter,
    API_KEY_OPTIONS,
  ],
})
export class ApiKeyRemoteModule extends RemoteModuleClass {}
