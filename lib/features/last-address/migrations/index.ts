import {
  migrationsFor,
  type ApiKeyMigrationClass,
  type ApiKeyMigrationDatabase,
  type ApiKeyMigrationsOptions,
} from '../../../storage/migrations/index.js';
import {
  AddLastAddressMysql1796083200000,
  AddLastAddressPostgres1796083200000,
  AddLastAddressSqlite1796083200000,
} from './add-last-address.js';

export { AddLastAddressMigration } from './add-last-address.js';
export { AddLastAddressMysql1796083200000, AddLastAddressPostgres1796083200000, AddLastAddressSqlite1796083200000 };

/**
 * The migration of the last-address table (`<table>_last_address`, `api_key_last_address` for `api_keys`) on one
 * database. Add it after the core's, next to yours.
 * @example
 * migrations: [...apiKeyMigrations('postgres'), ...lastAddressMigrations('postgres'), ...yourMigrations]
 */
export function lastAddressMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(
    {
      postgres: [AddLastAddressPostgres1796083200000],
      mysql: [AddLastAddressMysql1796083200000],
      mariadb: [AddLastAddressMysql1796083200000],
      'better-sqlite3': [AddLastAddressSqlite1796083200000],
      sqlite: [AddLastAddressSqlite1796083200000],
    },
    database,
    options,
  );
}
