import type { DynamicModule, INestApplication, ModuleMetadata, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyModule, ApiKeyService, type ApiKeyModuleExtras, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { testDataSourceOptions } from './database.js';
import { createPlatformApp, httpPlatform, type HttpPlatform } from './http-platform.js';
import { LogCapture } from './log-capture.js';
import { QueryCounter } from './query-counter.js';

/** Everything a test needs from a running app. */
export interface TestApp {
  app: INestApplication;
  service: ApiKeyService;
  dataSource: DataSource;
  queries: QueryCounter;
  logs: LogCapture;
  close(): Promise<void>;
}

/** Options of {@link createTestApp}. */
export interface TestAppOptions {
  controllers?: Type[];
  /** More modules for the app (e.g. `EventEmitterModule.forRoot()`). */
  imports?: NonNullable<ModuleMetadata['imports']>;
  /** More providers for the app. */
  providers?: Provider[];
  options?: ApiKeyModuleOptions;
  extras?: ApiKeyModuleExtras;
  /** SQLite only: use this database file instead of a private in-memory database, so that several apps can share it. */
  sqliteFile?: string;
  /**
   * Join the tables an earlier app of this test file created (same file
   * schema, or the same `sqliteFile`) instead of dropping and recreating them:
   * two app instances on one database.
   */
  joinDatabase?: boolean;
  /** The HTTP platform. Default: env `HTTP_PLATFORM` (`express` or `fastify`), else `express`. */
  platform?: HttpPlatform;
  /** Keep each request's raw body as `request.rawBody` (Nest's `rawBody: true`). */
  rawBody?: boolean;
  /** PostgreSQL / MariaDB only: connect to this server URL instead of the run's (e.g. through a test proxy). */
  databaseUrl?: string;
  /** Trust `X-Forwarded-For` for `req.ip` (Express `trust proxy`, Fastify `trustProxy`). Default `false`. */
  trustProxy?: boolean;
}

/**
 * The host's TypeORM module of a test app built by hand: this test file's
 * database, the library's entities loaded, a fresh schema, no connection retry.
 */
export function testTypeOrmModule(): DynamicModule {
  return TypeOrmModule.forRoot({
    ...testDataSourceOptions(),
    autoLoadEntities: true,
    synchronize: true,
    dropSchema: true,
    retryAttempts: 0,
  });
}

/**
 * Starts a real Nest app (Express, or Fastify with `platform`) on a fresh database with the key table
 * created by `synchronize`, every TypeORM statement counted and every Nest log
 * line captured. Call `close()` to drop the table and stop the app.
 */
export async function createTestApp({
  controllers = [],
  imports = [],
  providers = [],
  options = {},
  extras = {},
  sqliteFile,
  joinDatabase = false,
  platform = httpPlatform(),
  rawBody = false,
  databaseUrl,
  trustProxy = false,
}: TestAppOptions = {}): Promise<TestApp> {
  const queries = new QueryCounter();
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        ...testDataSourceOptions({ sqliteFile }),
        ...(databaseUrl ? { url: databaseUrl } : {}),
        autoLoadEntities: true,
        synchronize: !joinDatabase,
        dropSchema: !joinDatabase,
        logging: true,
        logger: queries,
        retryAttempts: 0,
      }),
      ApiKeyModule.forRoot({ ...options, ...extras }),
      ...imports,
    ],
    controllers,
    providers,
  }).compile();
  const app = await createPlatformApp(moduleRef, { logger: logs, rawBody }, platform, { trustProxy });
  const dataSource = app.get(DataSource);
  return {
    app,
    service: app.get(ApiKeyService),
    dataSource,
    queries,
    logs,
    async close() {
      await app.close();
    },
  };
}
