import { Module } from '@nestjs/common';
import { API_KEY_OPTIONS } from './api-key.constants.js';
import { ApiKeyAuditLog } from './lifecycle/api-key-audit.log.js';
import { ApiKeyCacheInvalidator } from './cache/api-key.cache-invalidator.js';
import { ApiKeyEventPublisher } from './events/api-key-event.publisher.js';
import { ApiKeyExpiryNotifier } from './events/expiry-notifier.js';
import { ApiKeyGuard } from './http/api-key.guard.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './api-key.module-definition.js';
import { ResolvedApiKeyOptions, type ApiKeyModuleOptions } from './api-key.options.js';
import { ApiKeyUsageReader } from './lifecycle/api-key-usage.reader.js';
import { ApiKeyRotation } from './lifecycle/api-key.rotation.js';
import { ApiKeyRateLimiter } from './verification/rate-limiter.js';
import { ApiKeyService } from './lifecycle/api-key.service.js';
import { ApiKeyUnitOfWork } from './storage/api-key.unit-of-work.js';
import { ApiKeyUsageCounter } from './verification/usage-counter.js';
import { ApiKeyVerifier } from './verification/api-key.verifier.js';
import { LastUsedRecorder } from './verification/last-used.recorder.js';
import { RefusedUseRecorder } from './verification/refused-use.recorder.js';
import { ApiKeyUsageRecorder } from './verification/usage.recorder.js';
import { ApiKeyTelemetry } from './telemetry/api-key.telemetry.js';
import { VerificationOutcomes } from './verification/verification-outcomes.js';

/**
 * Opaque API keys for a Nest app, checked live against the host's TypeORM
 * DataSource. The host keeps its own `TypeOrmModule.forRoot()` and adds the
 * key entity to it (`autoLoadEntities: true`, or list `ApiKeyEntity`).
 * @example
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'better-sqlite3', database: 'app.sqlite', autoLoadEntities: true, synchronize: true }),
 *     ApiKeyModule.forRoot({ prefix: 'acme', globalGuard: true }),
 *   ],
 * })
 * export class AppModule {}
 */
@Module({
  providers: [
    {
      provide: API_KEY_OPTIONS,
      useFactory: (raw: ApiKeyModuleOptions) => new ResolvedApiKeyOptions(raw),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    ApiKeyUnitOfWork,
    ApiKeyEventPublisher,
    ApiKeyExpiryNotifier,
    ApiKeyCacheInvalidator,
    ApiKeyAuditLog,
    ApiKeyUsageCounter,
    ApiKeyRotation,
    ApiKeyUsageReader,
    ApiKeyRateLimiter,
    ApiKeyVerifier,
    LastUsedRecorder,
    RefusedUseRecorder,
    ApiKeyUsageRecorder,
    ApiKeyTelemetry,
    VerificationOutcomes,
    ApiKeyGuard,
    ApiKeyService,
  ],
  exports: [
    ApiKeyEventPublisher,
    ApiKeyExpiryNotifier,
    ApiKeyExpiryNotifier,
    ApiKeyCacheInvalidator,
    ApiKeyAuditLog,
    ApiKeyRateLimiter,
    ApiKeyVerifier,
    LastUsedRecorder,
    ApiKeyUsageRecorder,
    VerificationOutcomes,
    ApiKeyGuard,
    ApiKeyService,
    API_KEY_OPTIONS,
  ],
})
export class ApiKeyModule extends ConfigurableModuleClass {}
