import type { MigrationInterface } from 'typeorm';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import { CreateApiKeysMigration } from './api-key-migration.js';
import { CreateApiKeysMysql1795478400000 } from './create-api-keys.mysql.js';
import { CreateApiKeysPostgres1795478400000 } from './create-api-keys.postgres.js';
import { CreateApiKeysSqlite1795478400000 } from './create-api-keys.sqlite.js';

export { CreateApiKeysMigration } from './api-key-migration.js';
export { CreateApiKeysMysql1795478400000 } from './create-api-keys.mysql.js';
export { CreateApiKeysPostgres1795478400000 } from './create-api-keys.postgres.js';
export { CreateApiKeysSqlite1795478400000 } from './create-api-keys.sqlite.js';

/** The TypeORM driver types the shipped migrations support (a DataSource's `type`). */
export type ApiKeyMigrationDatabase = 'postgres' | 'mysql' | 'mariadb' | 'better-sqlite3' | 'sqlite';

/** A migration class, as TypeORM's `migrations` option takes it. */
export type ApiKeyMigrationClass = new () => MigrationInterface;

/** Options of {@link apiKeyMigrations}. */
export interface ApiKeyMigrationsOptions {
  /** The key table, as given to `ApiKeyModule.forRoot({ tableName })`. Default `api_keys`. */
  tableName?: string;
}

/** A concrete subclass of {@link CreateApiKeysMigration}. */
type CreateApiKeysClass = new () => MigrationInterface & Pick<CreateApiKeysMigration, 'tableName' | 'name'>;

const BY_DATABASE: Record<ApiKeyMigrationDatabase, CreateApiKeysClass> = {
  postgres: CreateApiKeysPostgres1795478400000,
  mysql: CreateApiKeysMysql1795478400000,
  mariadb: CreateApiKeysMysql1795478400000,
  'better-sqlite3': CreateApiKeysSqlite1795478400000,
  sqlite: CreateApiKeysSqlite1795478400000,
};

const named = new Map<string, ApiKeyMigrationClass>();

/**
 * The migrations that create (and, reverted, drop) the key table on one
 * database. Add them to your own DataSource's `migrations`, next to yours, and
 * run them as you run yours (`migrationsRun: true`, or the TypeORM CLI).
 * @example
 * new DataSource({
 *   type: 'postgres',
 *   url: process.env.DATABASE_URL,
 *   entities: [ApiKeyEntity, ...yourEntities],
 *   migrations: [...apiKeyMigrations('postgres'), ...yourMigrations],
 *   migrationsRun: true,
 * });
 */
export function apiKeyMigrations(database: ApiKeyMigrationDatabase, { tableName = DEFAULT_API_KEY_TABLE }: ApiKeyMigrationsOptions = {}): ApiKeyMigrationClass[] {
  const base = BY_DATABASE[database];
  if (!base) {
    throw new TypeError(`nestjs-api-keys ships migrations for ${Object.keys(BY_DATABASE).join(', ')}; got ${JSON.stringify(database)}`);
  }
  if (tableName === DEFAULT_API_KEY_TABLE) return [base];
  apiKeyEntityFor(tableName); // validates the name
  const key = `${base.name}:${tableName}`;
  let migration = named.get(key);
  if (!migration) {
    const name = CreateApiKeysMigration.nameFor(tableName);
    migration = class extends base {
      override readonly tableName = tableName;
      override readonly name = name;
    };
    named.set(key, migration);
  }
  return [migration];
}
