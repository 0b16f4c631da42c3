import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyModule, apiKeyMigrations } from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { testDatabase, testDataSourceOptions } from '../support/database.js';

/** What a guard-only app pays for: the providers, entities and tables of `ApiKeyModule.forRoot()` alone. */
describe(`a guard-only ApiKeyModule.forRoot() (${testDatabase()})`, () => {
  let app: INestApplication;
  beforeAll(async () => {
    const database = testDatabase() === 'sqlite' ? 'better-sqlite3' : testDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          dropSchema: true,
          synchronize: false,
          migrations: apiKeyMigrations(database as 'postgres'),
          migrationsRun: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({ prefix: 'sk' }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(() => app?.close());

  it('registers 12 providers or fewer: the core, nothing of any feature', () => {
    const module = [...app.get(ModulesContainer).values()].find((m) => m.metatype === ApiKeyModule)!;
    // Nest's own per-module providers (the module class, ModuleRef, ApplicationConfig) are not the library's.
    const own = [...module.providers.keys()].filter(
      (token) =>
        token !== ApiKeyModule && !['ModuleRef', 'ApplicationConfig'].includes((token as { name?: string }).name ?? ''),
    );
    const names = own.map((token) => (typeof token === 'function' ? token.name : String(token)));
    expect(names.length).toBeLessThanOrEqual(12);
    expect(names.join(' ')).not.toMatch(/Webhook|Usage|Telemetry|Expiry|EventPublisher|Introspection/);
  });

  it('registers the key entity and its audit trail, and its migrations create those two tables only', async () => {
    const dataSource = app.get(DataSource);
    expect(dataSource.entityMetadatas.map((m) => m.tableName).sort()).toEqual(['api_key_events', 'api_keys']);
    const runner = dataSource.createQueryRunner();
    try {
      // In this suite's own schema (or file): the core's two tables, and none of any feature's.
      for (const table of ['api_keys', 'api_key_events']) expect(await runner.hasTable(table)).toBe(true);
      for (const table of ['api_key_usage', 'api_key_webhook_deliveries'])
        expect(await runner.hasTable(table)).toBe(false);
    } finally {
      await runner.release();
    }
  });
});
