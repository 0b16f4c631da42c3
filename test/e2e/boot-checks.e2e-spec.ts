import { describe, expect, it } from '@jest/globals';
import { Controller, Get, UseGuards, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import request from 'supertest';
import {
  ApiKeyConfigurationError,
  ApiKeyEntity,
  ApiKeyGuard,
  ApiKeyModule,
  ApiKeyService,
  apiKeyEntities,
  apiKeyMigrations,
  type ApiKeyModuleOptions,
  type ApiKeyModuleExtras,
} from 'nestjs-opaque-keys';
import { withUsage } from 'nestjs-opaque-keys/usage';
import { withWebhooks } from 'nestjs-opaque-keys/webhooks';
import { DataSource } from 'typeorm';
import { testDatabase, testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';

/**
 * Every misconfiguration a newcomer hit fails at boot (app.init(), before any
 * request), with an ApiKeyConfigurationError whose message names the fix. On
 * SQLite, PostgreSQL and MariaDB (DB_TYPE).
 */
@Controller('boot')
@UseGuards(ApiKeyGuard)
class BootController {
  @Get()
  ok() {
    return { ok: true };
  }
}

/** DataSources the helper opened, with their initialization (a failed boot may leave one still connecting). */
const opened: { dataSource: DataSource; initializing: Promise<unknown> }[] = [];

/** TypeORM on this file's private database, emptied at start, with the given overrides. */
function typeOrm(overrides: Partial<TypeOrmModuleOptions>): DynamicModule {
  return TypeOrmModule.forRootAsync({
    useFactory: () =>
      ({
        ...testDataSourceOptions(),
        dropSchema: true,
        synchronize: false,
        retryAttempts: 0,
        logging: false,
        ...overrides,
      }) as TypeOrmModuleOptions,
    dataSourceFactory: async (options) => {
      const dataSource = new DataSource(options!);
      const initializing = dataSource.initialize();
      opened.push({ dataSource, initializing });
      return initializing;
    },
  });
}

/** Boots an app from `imports`; resolves with the boot error (after closing any DataSource it opened). */
async function bootError(imports: DynamicModule[]): Promise<Error> {
  try {
    const moduleRef = await Test.createTestingModule({ imports, controllers: [BootController] }).compile();
    await createPlatformApp(moduleRef, { logger: false });
  } catch (error) {
    return error as Error;
  } finally {
    for (const { dataSource, initializing } of opened.splice(0)) {
      await initializing.catch(() => undefined);
      if (dataSource.isInitialized) await dataSource.destroy();
    }
  }
  throw new Error('the app booted');
}

/** Boots an app that is expected to work; resolves with it and its service. */
async function boot(imports: DynamicModule[]) {
  const moduleRef = await Test.createTestingModule({ imports, controllers: [BootController] }).compile();
  const app = await createPlatformApp(moduleRef, { logger: false });
  return { app, service: app.get(ApiKeyService) };
}

const apiKeys = (options: ApiKeyModuleOptions & ApiKeyModuleExtras = {}) => ApiKeyModule.forRoot(options);

describe('boot checks', () => {
  it('(1) only ApiKeyEntity listed: names the missing event entity and apiKeyEntities()', async () => {
    const error = await bootError([typeOrm({ entities: [ApiKeyEntity], synchronize: true }), apiKeys()]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toContain('has no metadata for ApiKeyEventEntity');
    expect(error.message).not.toContain('ApiKeyEntity and');
    expect(error.message).toContain('autoLoadEntities: true');
    expect(error.message).toContain('entities: [...apiKeyEntities(), ...yourEntities]');
  });

  it('(2) no entities and no autoLoadEntities: names both entities and the fix', async () => {
    const error = await bootError([typeOrm({}), apiKeys()]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toContain('has no metadata for ApiKeyEntity and ApiKeyEventEntity');
    expect(error.message).toContain('autoLoadEntities: true');
    expect(error).toMatchObject({ code: 'ERR_API_KEY_CONFIGURATION', option: undefined }); // a setup problem
  });

  it('(2) with a custom table, the advice carries the table name', async () => {
    const error = await bootError([typeOrm({}), apiKeys({ tableName: 'service_keys' })]);
    expect(error.message).toContain('apiKeyEntities("service_keys")');
  });

  it('(4) empty database without synchronize or migrations: names the tables, the migrations and how to run them', async () => {
    const error = await bootError([typeOrm({ autoLoadEntities: true }), apiKeys()]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    const type = testDatabase() === 'sqlite' ? 'better-sqlite3' : testDatabase();
    expect(error.message).toMatch(/table \S*api_keys\S* does not exist/);
    expect(error.message).toMatch(/table \S*api_key_events\S* does not exist/);
    expect(error.message).toContain(`migrations: [...apiKeyMigrations("${type}"), ...yours], migrationsRun: true`);
    expect(error.message).toContain('npx typeorm migration:run -d ./data-source.js');
    expect(error.message).toContain('schemaCheck: false');
  });

  it('(4) a table that lacks a later migration’s columns: names the columns', async () => {
    // Only the first shipped migration: the key-policy columns are missing.
    const type = (testDatabase() === 'sqlite' ? 'better-sqlite3' : testDatabase()) as 'postgres';
    const first = apiKeyMigrations(type).slice(0, 1);
    const error = await bootError([
      typeOrm({ autoLoadEntities: true, migrations: first, migrationsRun: true }),
      apiKeys(),
    ]);
    expect(error.message).toMatch(/table \S*api_keys\S* lacks column\(s\) [^;]*remainingUses/);
  });

  it('(4) webhooks on without the delivery table: names it and the migrations; webhooks off boots without it', async () => {
    const type = (testDatabase() === 'sqlite' ? 'better-sqlite3' : testDatabase()) as 'postgres';
    const beforeWebhooks = apiKeyMigrations(type);
    const webhooks = {
      endpoints: [{ url: 'https://hooks.example.com/keys', secret: 'whsec_' + 'A'.repeat(43) + '=' }],
    };
    const error = await bootError([
      typeOrm({ autoLoadEntities: true, migrations: beforeWebhooks, migrationsRun: true }),
      apiKeys({ features: [withWebhooks(webhooks)] }),
    ]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toMatch(/table \S*api_key_webhook_deliveries\S* does not exist/);
    expect(error.message).not.toMatch(/table \S*api_keys\S* /);
    // The feature's own migrations, not the core's (which ran).
    expect(error.message).toContain(`...webhookMigrations("${type}")`);
    expect(error.message).not.toContain('apiKeyMigrations');
    const { app } = await boot([
      typeOrm({ autoLoadEntities: true, migrations: beforeWebhooks, migrationsRun: true }),
      apiKeys(),
    ]);
    await app.close();
  });

  it('(4) schemaCheck: false boots on an empty database (for hosts that migrate after start)', async () => {
    const { app } = await boot([typeOrm({ autoLoadEntities: true }), apiKeys({ schemaCheck: false })]);
    await app.close();
  });

  it('(4) boots with the migrations run the Nest way, and a key works', async () => {
    const type = (testDatabase() === 'sqlite' ? 'better-sqlite3' : testDatabase()) as 'postgres';
    const { app, service } = await boot([
      typeOrm({ entities: apiKeyEntities(), migrations: apiKeyMigrations(type), migrationsRun: true }),
      apiKeys({ prefix: 'acme' }),
    ]);
    try {
      const { key } = await service.issue({ name: 'migrated' });
      await request(app.getHttpServer()).get('/boot').set('X-API-Key', key).expect(200, { ok: true });
    } finally {
      await app.close();
    }
  });

  it('a database that stops answering before the check: fails the boot, saying so, within the check timeout', async () => {
    const started = Date.now();
    const error = await bootError([
      TypeOrmModule.forRootAsync({
        useFactory: () => ({
          ...testDataSourceOptions(),
          synchronize: true,
          dropSchema: true,
          autoLoadEntities: true,
          retryAttempts: 0,
        }),
        dataSourceFactory: async (options) => {
          const dataSource = await new DataSource(options!).initialize();
          // Cut the connection under TypeORM: every statement from now on fails.
          const driver = dataSource.driver as any;
          if (testDatabase() === 'sqlite') driver.databaseConnection.close();
          else if (testDatabase() === 'postgres') await driver.master.end();
          else await new Promise((done) => driver.pool.end(done));
          return dataSource;
        },
      }),
      apiKeys(),
    ]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toContain('could not check the key tables at boot, the database did not answer');
    expect(error.message).toContain('schemaCheck: false');
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('(7) no TypeOrmModule at all: names TypeOrmModule.forRoot()', async () => {
    const error = await bootError([apiKeys()]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toContain('ApiKeyModule found no TypeORM DataSource');
    expect(error.message).toContain('TypeOrmModule.forRoot(');
    expect(error.message).not.toContain("can't resolve dependencies");
  });

  it('(8) a bad option: fails the boot with an ApiKeyConfigurationError naming its path', async () => {
    const typeOrmFine = () => typeOrm({ autoLoadEntities: true, synchronize: true });
    /** The error of defining the module (a bad static option) or, when that passes, of booting it. */
    async function optionError(define: () => DynamicModule): Promise<Error> {
      let module: DynamicModule;
      try {
        module = define();
      } catch (error) {
        return error as Error;
      }
      return bootError([typeOrmFine(), module]);
    }
    const cases: [string, () => DynamicModule, string, string][] = [
      ['cache', () => apiKeys({ cache: { ttlMs: 0 } }), 'cache.ttlMs', 'cache.ttlMs must be a positive number of ms'],
      [
        'forRootAsync',
        () => ApiKeyModule.forRootAsync({ useFactory: () => ({ rateLimit: { limit: 10, windowMs: 0 } }) }),
        'rateLimit.windowMs',
        'rateLimit must be { limit: whole number >= 1',
      ],
      [
        'environments',
        () => apiKeys({ environments: ['live', 'Test'] }),
        'environments[1]',
        'environments must be short lower-case names',
      ],
      ['tableName', () => apiKeys({ tableName: 'keys; drop' }), 'tableName', 'invalid table name'],
      [
        'features',
        () => apiKeys({ features: [withUsage(), withUsage()] }),
        'features[1]',
        'features lists usage twice',
      ],
      [
        "a feature's factory",
        () => apiKeys({ features: [withUsage({ useFactory: () => ({ granularity: 'week' as never }) })] }),
        'usage.granularity',
        "usage.granularity must be 'hour' or 'day'",
      ],
    ];
    for (const [name, define, option, message] of cases) {
      const error = await optionError(define);
      expect({ name, error: error.name, option: (error as ApiKeyConfigurationError).option }).toEqual({
        name,
        error: 'ApiKeyConfigurationError',
        option,
      });
      expect(error.message).toContain(message);
    }
  });

  it('(7) a dataSource name with no such DataSource: names both sides', async () => {
    const error = await bootError([
      typeOrm({ autoLoadEntities: true, synchronize: true }),
      apiKeys({ dataSource: 'keys' }),
    ]);
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error.message).toContain(
      'ApiKeyModule.forRoot({ dataSource: "keys" }) found no TypeORM DataSource named "keys"',
    );
    expect(error.message).toContain('TypeOrmModule.forRoot({ name: "keys", ... })');
  });
});
