import {
  migrationsFor,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationsOptions,
} from '../../../storage/migrations/index.js';
import {
  AddImportsMysql1796601600000,
  AddImportsPostgres1796601600000,
  AddImportsSqlite1796601600000,
} from './add-imports.js';

export { AddImportsMigration } from './add-imports.js';
export { AddImportsMysql1796601600000, AddImportsPostgres1796601600000, AddImportsSqlite1796601600000 };

/**
 * The migration of the import table (`<table>_imports`, `api_key_imports` for `api_keys`) on one database. Add
 * it after the core's, next to yours.
 * @example
 * migrations: [...apiKeyMigrations('postgres'), ...importMigrations('postgres'), ...yourMigrations]
 */
export function importMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(
    {
      postgres: [AddImportsPostgres1796601600000],
      mysql: [AddImportsMysql1796601600000],
      mariadb: [AddImportsMysql1796601600000],
      'better-sqlite3': [AddImportsSqlite1796601600000],
      sqlite: [AddImportsSqlite1796601600000],
    },
    database,
    options,
  );
}
