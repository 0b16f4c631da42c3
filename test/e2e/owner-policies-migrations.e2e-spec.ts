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
import {
  ApiKeyOwnerPolicies,
  ApiKeyOwnerPolicyEntity,
  apiKeyOwnerPolicyEntityFor,
  ownerPolicyMigrations,
  withOwnerPolicies,
} from 'nestjs-opaque-keys/owner-policies';
import { DataSource, DefaultNamingStrategy, type DataSourceOptions } from 'typeorm';
import { apiKeyMigrations, type ApiKeyMigrationDatabase } from '../../lib/storage/index.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';

const DRIVER: Record<ReturnType<typeof testDatabase>, ApiKeyMigrationDatabase> = {
  sqlite: 'better-sqlite3',
  postgres: 'postgres',
  mariadb: 'mariadb',
};
const database = DRIVER[testDatabase()];

/** snake_case columns, as hosts' naming strategies give them. */
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

async function emptyDataSource(options: Partial<DataSourceOptions>): Promise<DataSource> {
  const dataSource = new DataSource({
    ...testDataSourceOptions(),
    dropSchema: true,
    synchronize: false,
    ...options,
  } as DataSourceOptions);
  return dataSource.initialize();
}

async function pendingSchemaChanges(dataSource: DataSource): Promise<string[]> {
  return (await dataSource.driver.createSchemaBuilder().log()).upQueries.map((query) => query.query);
}

async function hasTable(dataSource: DataSource, table: string): Promise<boolean> {
  const queryRunner = dataSource.createQueryRunner();
  try {
    return await queryRunner.hasTable(table);
  } finally {
    await queryRunner.release();
  }
}

/** The owner-policies feature's migration, on the configured database. */
describe(`owner policies migration (${database})`, () => {
  it('creates exactly the table the entity describes, and revert drops it', async () => {
    const dataSource = await emptyDataSource({
      entities: [ApiKeyEntity, ApiKeyEventEntity, ApiKeyOwnerPolicyEntity],
      migrations: [...apiKeyMigrations(database), ...ownerPolicyMigrations(database)],
    });
    try {
      const ran = await dataSource.runMigrations();
      expect(ran.at(-1)!.name).toBe('AddOwnerPolicies1796601600000');
      expect(await pendingSchemaChanges(dataSource)).toEqual([]);
      await dataSource.undoLastMigration();
      expect(await hasTable(dataSource, 'api_key_owner_policies')).toBe(false);
      expect((await pendingSchemaChanges(dataSource)).length).toBeGreaterThan(0);
    } finally {
      await dataSource.destroy();
    }
  });

  it('follows a custom key table and the naming strategy', async () => {
    const dataSource = await emptyDataSource({
      entities: [
        apiKeyEntityFor('service_keys'),
        apiKeyEventEntityFor('service_keys'),
        apiKeyOwnerPolicyEntityFor('service_keys'),
      ],
      migrations: [
        ...apiKeyMigrations(database, { tableName: 'service_keys' }),
        ...ownerPolicyMigrations(database, { tableName: 'service_keys' }),
      ],
      namingStrategy: new SnakeNamingStrategy(),
    });
    try {
      const ran = await dataSource.runMigrations();
      expect(ran.at(-1)!.name).toBe('AddOwnerPolicies_service_keys1796601600000');
      expect(await hasTable(dataSource, 'service_keys_owner_policies')).toBe(true);
      expect(await pendingSchemaChanges(dataSource)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  it('boots an app on migrated tables (the boot check passes) and enforces a policy there', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          dropSchema: true,
          migrationsRun: true,
          migrations: [...apiKeyMigrations(database), ...ownerPolicyMigrations(database)],
          autoLoadEntities: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({ prefix: 'sk', features: [withOwnerPolicies()] }),
      ],
    }).compile();
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    try {
      const keys = app.get(ApiKeyService);
      const { record } = await keys.issue({ name: 'k', ownerId: 'o', scopes: [] });
      const change = await app.get(ApiKeyOwnerPolicies).set('o', { requireExpiry: true }, { actor: 'ops' });
      expect(change.disabled).toEqual([record.id]);
      expect(await app.get(ApiKeyOwnerPolicies).get('o')).toMatchObject({
        policy: { requireExpiry: true },
        updatedBy: 'ops',
      });
      expect(await hasTable(app.get(DataSource), 'api_key_owner_policies')).toBe(true);
    } finally {
      await app.close();
    }
  });
});
