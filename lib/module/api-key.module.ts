import { Module } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { ApiKeyAuditLog } from '../lifecycle/api-key-audit.log.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './api-key.module-definition.js';
import { ResolvedApiKeyOptions, type ApiKeyModuleOptions } from '../api-key.options.js';
import { ApiKeyRotation } from '../lifecycle/api-key.rotation.js';
import { ApiKeyCredits } from '../lifecycle/api-key.credits.js';
import { ApiKeyControls } from '../lifecycle/api-key.controls.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import { loadRateLimiterFlexible, RATE_LIMITER_MODULE_LOADER } from '../verification/rate-limit-backend.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
import { ApiKeyUsageCounter } from '../verification/usage-counter.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { LastUsedRecorder } from '../verification/last-used.recorder.js';
import { RefusedUseRecorder } from '../verification/refused-use.recorder.js';
import { API_KEY_VERIFIER } from '../verification/key-verifier.js';
import { ApiKeySchemaCheck } from '../storage/schema-check.js';

/**
 * Opaque API keys for a Nest app, checked live against the host's TypeORM
 * DataSource. The host keeps its own `TypeOrmModule.forRoot()` and adds the
 * library's entities to it (`autoLoadEntities: true`, or list `apiKeyEntities()`).
 * At boot it checks that the DataSource exists, knows every entity and that the
 * tables exist (see `schemaCheck`), and fails with the fix otherwise.
 * @example
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'better-sqlite3', database: 'app.sqlite', autoLoadEntities: true, synchronize: true }),
 *     ApiKeyModule.forRoot({ prefix: 'acme', globalGuard: true }),
 *   ],
 * })
 * export class AppModule {}
 *
 * A second key setup in the same app (its own prefix, table, header or DataSource) takes a
 * `name`: it then exports only named tokens (`ApiKeyGuardFor(name)`, `@InjectApiKeyService(name)`),
 * so neither setup can stand in for the other.
 */
@Module({
  providers: [
    {
      provide: API_KEY_OPTIONS,
      useFactory: (raw: ApiKeyModuleOptions) => new ResolvedApiKeyOptions(raw),
      inject: [MODULE_OPTIONS_TOKEN],
    },
    ApiKeySchemaCheck,
    ApiKeyUnitOfWork,
    ApiKeyCacheInvalidator,
    ApiKeyAuditLog,
    ApiKeyUsageCounter,
    ApiKeyRotation,
    ApiKeyCredits,
    ApiKeyControls,
    { provide: RATE_LIMITER_MODULE_LOADER, useValue: loadRateLimiterFlexible },
    ApiKeyRateLimiter,
    ApiKeyVerifier,
    { provide: API_KEY_VERIFIER, useExisting: ApiKeyVerifier },
    LastUsedRecorder,
    RefusedUseRecorder,
    ApiKeyGuard,
    ApiKeyService,
  ],
})
export class ApiKeyModule extends ConfigurableModuleClass {}
