import { describe, expect, it } from '@jest/globals';
import { apiKeyEntityFor, apiKeyEventEntityFor } from 'nestjs-opaque-keys';
import { apiKeyImportEntityFor, importMigrations } from 'nestjs-opaque-keys/import';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { apiKeyMigrations, type ApiKeyMigrationDatabase } from '../../lib/storage/index.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';

const DRIVER: Record<ReturnType<typeof testDatabase>, ApiKeyMigrationDatabase> = {
  sqlite: 'better-sqlite3',
  postgres: 'postgres',
  mariadb: 'mariadb',
};
const database = DRIVER[testDatabase()];

describe(`the import table's migration (${database})`, () => {
  for (const tableName of ['api_keys', 'service_keys']) {
    it(`creates exactly the table the entity describes beside ${tableName}, and reverts`, async () => {
      const dataSource = await new DataSource({
        ...testDataSourceOptions(),
        dropSchema: true,
        synchronize: false,
        entities: [apiKeyEntityFor(tableName), apiKeyEventEntityFor(tableName), apiKeyImportEntityFor(tableName)],
        migrations: [...apiKeyMigrations(database, { tableName }), ...importMigrations(database, { tableName })],
      } as DataSourceOptions).initialize();
      const imports = tableName === 'api_keys' ? 'api_key_imports' : `${tableName}_imports`;
      try {
        const ran = await dataSource.runMigrations();
        expect(ran.at(-1)!.name).toBe(
          tableName === 'api_keys' ? 'AddImports1796601600000' : `AddImports_${tableName}1796601600000`,
        );
        const log = await dataSource.driver.createSchemaBuilder().log();
        expect(log.upQueries.map((query) => query.query)).toEqual([]);
        const runner = dataSource.createQueryRunner();
        const table = await runner.getTable(imports);
        await runner.release();
        expect(table!.indices.map((index) => ({ columns: index.columnNames, unique: !!index.isUnique }))).toEqual([
          { columns: ['source', 'sourceId'], unique: true },
        ]);
        await dataSource.undoLastMigration();
        const after = dataSource.createQueryRunner();
        expect(await after.hasTable(imports)).toBe(false);
        await after.release();
      } finally {
        await dataSource.destroy();
      }
    });
  }
});
