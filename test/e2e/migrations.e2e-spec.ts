import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ApiKeyEntity,
  ApiKeyEventEntity,
  ApiKeyModule,
  ApiKeyService,
  apiKeyEntityFor,
  apiKeyEventEntityFor,
} from 'nestjs-opaque-keys';
import { ApiKeyUsageEntity, apiKeyUsageEntityFor, usageMigrations } from 'nestjs-opaque-keys/usage';
import {
  ApiKeyWebhookDeliveryEntity,
  apiKeyWebhookDeliveryEntityFor,
  webhookMigrations,
} from 'nestjs-opaque-keys/webhooks';
import { DataSource, DefaultNamingStrategy, type DataSourceOptions } from 'typeorm';
import { apiKeyMigrations, type ApiKeyMigrationDatabase } from '../../lib/storage/index.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';

const DRIVER: Record<ReturnType<typeof testDatabase>, ApiKeyMigrationDatabase> = {
  sqlite: 'better-sqlite3',
  postgres: 'postgres',
  mariadb: 'mariadb',
};
const database = DRIVER[testDatabase()];

/** A naming strategy as hosts use them (typeorm-naming-strategies): snake_case columns. */
class SnakeNamingStrategy extends DefaultNamingStrategy {
  override columnName(propertyName: string, customName: string | undefined, prefixes: string[]): string {
    return (
      customName ??
      [...prefixes, propertyName]
        .join('_')
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .toLowerCase()
    );
  }
}

/** A DataSource on this file's emptied schema, with nothing synchronized. */
async function emptyDataSource(options: Partial<DataSourceOptions>): Promise<DataSource> {
  const dataSource = new DataSource({
    ...testDataSourceOptions(),
    dropSchema: true,
    synchronize: false,
    ...options,
  } as DataSourceOptions);
  return dataSource.initialize();
}

/** The statements TypeORM's schema diff would run to make the database match the entities. */
async function pendingSchemaChanges(dataSource: DataSource): Promise<string[]> {
  const log = await dataSource.driver.createSchemaBuilder().log();
  return log.upQueries.map((query) => query.query);
}

async function hasTable(dataSource: DataSource, table: string): Promise<boolean> {
  const queryRunner = dataSource.createQueryRunner();
  try {
    return await queryRunner.hasTable(table);
  } finally {
    await queryRunner.release();
  }
}

describe(`shipped migrations (${database})`, () => {
  it('create exactly the table the entity describes, and revert drops it', async () => {
    const dataSource = await emptyDataSource({
      entities: [ApiKeyEntity, ApiKeyEventEntity, ApiKeyUsageEntity, ApiKeyWebhookDeliveryEntity],
      // The core's migrations, then the usage and webhooks features' (each feature's entry ships its own).
      migrations: [...apiKeyMigrations(database), ...usageMigrations(database), ...webhookMigrations(database)],
    });
    try {
      expect(await hasTable(dataSource, 'api_keys')).toBe(false);
      const ran = await dataSource.runMigrations();
      expect(ran.map((migration) => migration.name)).toEqual([
        'CreateApiKeys1795478400000',
        'AddKeyPolicies1795564800000',
        'AddCredits1795651200000',
        'AddKeyControls1795737600000',
        'AddUsage1795824000000',
        'AddWebhooks1795910400000',
      ]);
      expect(await dataSource.showMigrations()).toBe(false);

      // Nothing left for synchronize to do: same columns, types, nullability, keys and indexes.
      expect(await pendingSchemaChanges(dataSource)).toEqual([]);
      const queryRunner = dataSource.createQueryRunner();
      const table = await queryRunner.getTable('api_keys');
      await queryRunner.release();
      const indexes = table!.indices.map((index) => ({ columns: index.columnNames, unique: !!index.isUnique }));
      expect(indexes).toEqual(
        expect.arrayContaining([
          { columns: ['hash'], unique: true },
          { columns: ['ownerId'], unique: false },
          { columns: ['familyId'], unique: false },
        ]),
      );
      expect(await hasTable(dataSource, 'api_key_events')).toBe(true);
      const credits = ['refillAmount', 'refillIntervalMs', 'refilledAtMs'];
      expect(table!.columns.map((column) => column.name)).toEqual(expect.arrayContaining(credits));

      expect(await hasTable(dataSource, 'api_key_webhook_deliveries')).toBe(true);
      await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'api_key_webhook_deliveries')).toBe(false);
      expect(await hasTable(dataSource, 'api_key_usage')).toBe(true);
      await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'api_key_usage')).toBe(false);
      await dataSource.undoLastMigration(); // AddKeyControls
      expect((await pendingSchemaChanges(dataSource)).length).toBeGreaterThan(0);
      // Reverting AddCredits drops its columns only; the schema diff then wants them back.
      await dataSource.undoLastMigration();
      const reverted = dataSource.createQueryRunner();
      const before = await reverted.getTable('api_keys');
      await reverted.release();
      expect(before!.columns.map((column) => column.name)).not.toEqual(expect.arrayContaining([credits[0]]));
      expect(before!.columns.map((column) => column.name)).toEqual(expect.arrayContaining(['remainingUses']));
      expect((await pendingSchemaChanges(dataSource)).join('\n')).toMatch(/refillIntervalMs/);
      await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'api_key_events')).toBe(false);
      await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'api_keys')).toBe(false);
      // The diff above is not vacuous: without the table it has work to do.
      expect((await pendingSchemaChanges(dataSource)).length).toBeGreaterThan(0);
    } finally {
      await dataSource.destroy();
    }
  });

  it('follow a custom table name and the DataSource naming strategy', async () => {
    const dataSource = await emptyDataSource({
      entities: [
        apiKeyEntityFor('service_keys'),
        apiKeyEventEntityFor('service_keys'),
        apiKeyUsageEntityFor('service_keys'),
        apiKeyWebhookDeliveryEntityFor('service_keys'),
      ],
      migrations: [
        ...apiKeyMigrations(database, { tableName: 'service_keys' }),
        ...usageMigrations(database, { tableName: 'service_keys' }),
        ...webhookMigrations(database, { tableName: 'service_keys' }),
      ],
      namingStrategy: new SnakeNamingStrategy(),
    });
    try {
      const ran = await dataSource.runMigrations();
      expect(ran.map((migration) => migration.name)).toEqual([
        'CreateApiKeys_service_keys1795478400000',
        'AddKeyPolicies_service_keys1795564800000',
        'AddCredits_service_keys1795651200000',
        'AddKeyControls_service_keys1795737600000',
        'AddUsage_service_keys1795824000000',
        'AddWebhooks_service_keys1795910400000',
      ]);
      expect(await hasTable(dataSource, 'service_keys_events')).toBe(true);
      expect(await hasTable(dataSource, 'service_keys_usage')).toBe(true);
      expect(await hasTable(dataSource, 'service_keys_webhook_deliveries')).toBe(true);
      expect(await hasTable(dataSource, 'service_keys')).toBe(true);
      expect(await pendingSchemaChanges(dataSource)).toEqual([]);
      const rows = await dataSource.query(
        `SELECT ${dataSource.driver.escape('owner_id')} FROM ${dataSource.driver.escape('service_keys')}`,
      );
      expect(rows).toEqual([]);
      const refills = await dataSource.query(
        `SELECT ${dataSource.driver.escape('refill_interval_ms')} FROM ${dataSource.driver.escape('service_keys')}`,
      );
      expect(refills).toEqual([]);
      for (let i = 0; i < 6; i++) await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'service_keys')).toBe(false);
    } finally {
      await dataSource.destroy();
    }
  });

  it('give a table the library works on, where owner ids compare exactly', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          dropSchema: true,
          synchronize: false,
          migrations: apiKeyMigrations(database),
          migrationsRun: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({}),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const service = app.get(ApiKeyService);
      const { key, record } = await service.issue({
        name: 'migrated',
        ownerId: 'Team-1',
        scopes: ['orders:read'],
        metadata: { plan: 'pro' },
      });
      await service.issue({ name: 'other', ownerId: 'team-1' });
      expect(await service.verify(key)).toMatchObject({
        valid: true,
        principal: { id: record.id, metadata: { plan: 'pro' } },
      });
      // MySQL / MariaDB compare case-insensitively by default; the migration's collation does not.
      expect((await service.list({ ownerId: 'Team-1' })).items.map((item) => item.name)).toEqual(['migrated']);
      expect((await service.list({ ownerId: 'team-1' })).items.map((item) => item.name)).toEqual(['other']);
      const rotated = await service.rotate(record.id);
      expect((await service.verify(key)).valid).toBe(false);
      expect((await service.verify(rotated.key)).valid).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('are offered for the supported drivers only', () => {
    expect(apiKeyMigrations('mysql')).toEqual(apiKeyMigrations('mariadb'));
    expect(apiKeyMigrations('sqlite')).toEqual(apiKeyMigrations('better-sqlite3'));
    expect(apiKeyMigrations('postgres', { tableName: 'a_keys' })).toEqual(
      apiKeyMigrations('postgres', { tableName: 'a_keys' }),
    );
    expect(() => apiKeyMigrations('mssql' as never)).toThrow(/ships migrations for postgres, mysql, mariadb/);
    expect(() => apiKeyMigrations('postgres', { tableName: 'bad name' })).toThrow(/invalid table name/);
  });
});
