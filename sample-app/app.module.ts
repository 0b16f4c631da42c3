import { Module } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyModule } from 'nestjs-api-keys';
import { BootstrapAdminKey } from './bootstrap-admin-key.js';
import { ConfigModule } from './config/config.module.js';
import { databaseOptions } from './config/database.options.js';
import { SampleAppConfig } from './config/sample-app.config.js';
import { createValidationPipe } from './config/validation.pipe.js';
import { HealthController } from './health/health.controller.js';
import { KeysController } from './keys/keys.controller.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersService } from './orders/orders.service.js';

/**
 * The sample app: an embedded SQLite file (`DATABASE_PATH`), API keys with
 * prefix `sk` checked on every route by the global guard (`@Public()` opts
 * out), an orders API and a key management API.
 */
@Module({
  imports: [
    ConfigModule,
    TypeOrmModule.forRootAsync({ inject: [SampleAppConfig], useFactory: databaseOptions }),
    ApiKeyModule.forRoot({ prefix: 'sk', globalGuard: true }),
  ],
  controllers: [HealthController, OrdersController, KeysController],
  providers: [OrdersService, BootstrapAdminKey, { provide: APP_PIPE, useFactory: createValidationPipe }],
})
export class AppModule {}
