import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import { ResolvedApiKeyOptions, type ApiKeyModuleOptions } from '../api-key.options.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { ApiKeyChanges } from '../lifecycle/api-key.changes.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { API_KEY_VERIFIER } from '../verification/key-verifier.js';
import { LastUsedRecorder } from '../verification/write-behind.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './api-key.module-definition.js';
import { assertHandlersCovered } from './route-coverage.js';

/**
 * Opaque API keys for a Nest app, checked live against the host's TypeORM
 * DataSource. The host keeps its own `TypeOrmModule.forRoot()` and adds the
 * library's entities to it (`autoLoadEntities: true`, or list `apiKeyEntities()`).
 * At boot it checks that the DataSource exists, knows every entity and that the
 * tables exist (see `schemaCheck`), and that every handler carrying the
 * library's decorators is covered by an API key guard (see `routeCheck`), and
 * fails with the fix otherwise. The core alone: features
 * (`nestjs-opaque-keys/<feature>`) are switched on with `features`.
 * @example
 * @Module({
 *   imports: [
 *     TypeOrmModule.forRoot({ type: 'better-sqlite3', database: 'app.sqlite', autoLoadEntities: true, migrations: [...apiKeyMigrations('better-sqlite3')], migrationsRun: true }),
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
    // The setup's database and hot-path store come from module-definition (they depend on its table and features).
    ApiKeyCacheInvalidator,
    ApiKeyChanges,
    ApiKeyService,
    ApiKeyVerifier,
    { provide: API_KEY_VERIFIER, useExisting: ApiKeyVerifier },
    ApiKeyRateLimiter,
    LastUsedRecorder,
    ApiKeyGuard,
  ],
})
export class ApiKeyModule extends ConfigurableModuleClass implements OnApplicationBootstrap {
  constructor(
    private readonly modules: ModulesContainer,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
  ) {
    super();
  }

  /** The route check (`routeCheck`): once every module is initialized, so every handler is known. */
  onApplicationBootstrap(): void {
    if (this.options.routeCheck) assertHandlersCovered(this.modules);
  }
}
