import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyModule, type RateLimitStorage } from 'nestjs-opaque-keys';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { createIntrospectionController } from 'nestjs-opaque-keys/introspection';
import { createLeakReportController } from 'nestjs-opaque-keys/secret-scanning';
import { BootstrapAdminKey } from './bootstrap-admin-key.js';
import { apiKeyOptions } from './config/api-keys.options.js';
import { ConfigModule } from './config/config.module.js';
import { databaseOptions } from './config/database.options.js';
import { SampleAppConfig } from './config/sample-app.config.js';
import { BodyParseErrorFilter } from './config/body-parse-error.filter.js';
import { createValidationPipe } from './config/validation.pipe.js';
import { DownloadsController } from './downloads/downloads.controller.js';
import { HealthController } from './health/health.controller.js';
import { KeysController } from './keys/keys.controller.js';
import { SelfKeyController } from './keys/self-key.controller.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';

/** Options of {@link AppModule.forRoot}. */
export interface AppModuleOptions {
  /**
   * Where per-key rate limits are counted: a host's `@nestjs/throttler` storage (any `ThrottlerStorage`).
   * Default: in memory, per instance, with rate-limiter-flexible (docs/rate-limits.md).
   */
  rateLimitStorage?: RateLimitStorage;
}

/**
 * The sample app: an embedded SQLite file (`DATABASE_PATH`), API keys
 * `sk_live_...` / `sk_test_...` checked on every route by the global guard
 * (`@Public()` opts out), with the key policy of `config/api-keys.options.ts`;
 * an orders API (sandboxed for test keys), a single-use download, a key
 * management API, self-service rotation, secret-scanning leak reports
 * (`POST /api-keys/leaks`, scope `keys:leaks`) and RFC 7662 introspection
 * (`POST /oauth/introspect`, scope `keys:introspect`) and the admin console at `/admin`.
 */
@Module({
  imports: [ConfigModule, TypeOrmModule.forRootAsync({ inject: [SampleAppConfig], useFactory: databaseOptions })],
  controllers: [
    HealthController,
    OrdersController,
    DownloadsController,
    // Before KeysController: its `POST /keys/:id/rotate` would otherwise take `POST /keys/self/rotate`.
    SelfKeyController,
    KeysController,
    createLeakReportController({ scope: 'keys:leaks' }),
    createIntrospectionController({ scope: 'keys:introspect' }),
  ],
  providers: [
    OrdersService,
    BootstrapAdminKey,
    { provide: APP_PIPE, useFactory: createValidationPipe },
    // Invalid JSON gets a fixed 400 that never echoes the body.
    { provide: APP_FILTER, useClass: BodyParseErrorFilter },
  ],
})
export class AppModule {
  static forRoot({ rateLimitStorage }: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ApiKeyModule.forRoot({ ...apiKeyOptions(rateLimitStorage), globalGuard: true }),
        // The key console: the page at /admin, its JSON API at /admin/api; sign in with a keys:admin key.
        ApiKeyAdminModule.forRoot({ path: '/admin' }),
      ],
    };
  }
}
