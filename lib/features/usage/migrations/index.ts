import {
  migrationsFor,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationsOptions,
} from '../../../storage/migrations/index.js';
import { AddUsageMysql1795824000000, AddUsagePostgres1795824000000, AddUsageSqlite1795824000000 } from './add-usage.js';

export { AddUsageMigration } from './add-usage.js';
export { AddUsageMysql1795824000000, AddUsagePostgres1795824000000, AddUsageSqlite1795824000000 };

/**
 * The migration of the usage table (`<table>_usage`, `api_key_usage` for `api_keys`) on one database. Add it
 * after the core's, next to yours.
 * @example
 * migrations: [...apiKeyMigrations('postgres'), ...usageMigrations('postgres'), ...yourMigrations]
 */
export function usageMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(
    {
      postgres: [AddUsagePostgres1795824000000],
      mysql: [AddUsageMysql1795824000000],
      mariadb: [AddUsageMysql1795824000000],
      'better-sqlite3': [AddUsageSqlite1795824000000],
      sqlite: [AddUsageSqlite1795824000000],
    },
    database,
    options,
  );
}
