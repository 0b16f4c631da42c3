import type { MigrationInterface } from 'typeorm';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import {
  CreateApiKeysMysql1795478400000,
  CreateApiKeysPostgres1795478400000,
  CreateApiKeysSqlite1795478400000,
} from './create-api-keys.js';
import {
  AddKeyPoliciesMysql1795564800000,
  AddKeyPoliciesPostgres1795564800000,
  AddKeyPoliciesSqlite1795564800000,
} from './add-key-policies.js';
import {
  AddCreditsMysql1795651200000,
  AddCreditsPostgres1795651200000,
  AddCreditsSqlite1795651200000,
} from './add-credits.js';
import {
  AddKeyControlsMysql1795737600000,
  AddKeyControlsPostgres1795737600000,
  AddKeyControlsSqlite1795737600000,
} from './add-key-controls.js';

export {
  CreateApiKeysMigration,
  CreateApiKeysMysql1795478400000,
  CreateApiKeysPostgres1795478400000,
  CreateApiKeysSqlite1795478400000,
} from './create-api-keys.js';
export {
  AddKeyPoliciesMigration,
  AddKeyPoliciesMysql1795564800000,
  AddKeyPoliciesPostgres1795564800000,
  AddKeyPoliciesSqlite1795564800000,
} from './add-key-policies.js';
export { AddKeyColumnsMigration, type KeyColumnsNames } from './key-columns-migration.js';
export {
  AddCreditsMigration,
  AddCreditsMysql1795651200000,
  AddCreditsPostgres1795651200000,
  AddCreditsSqlite1795651200000,
} from './add-credits.js';
export {
  AddKeyControlsMigration,
  AddKeyControlsMysql1795737600000,
  AddKeyControlsPostgres1795737600000,
  AddKeyControlsSqlite1795737600000,
} from './add-key-controls.js';

/** The TypeORM driver types the shipped migrations support (a DataSource's `type`). */
export type ApiKeyMigrationDatabase = 'postgres' | 'mysql' | 'mariadb' | 'better-sqlite3' | 'sqlite';

/** A migration class, as TypeORM's `migrations` option takes it. */
export type ApiKeyMigrationClass = new () => MigrationInterface;

/** Options of {@link apiKeyMigrations}. */
export interface ApiKeyMigrationsOptions {
  /** The key table, as given to `ApiKeyModule.forRoot({ tableName })`. Default `api_keys`. */
  tableName?: string;
}

/** A concrete migration of this library: it knows its table and its recorded name. */
export type TableMigrationClass = (new () => MigrationInterface & {
  readonly tableName: string;
  readonly name: string;
}) & {
  /** The recorded name of the migration for a table. */
  nameFor(tableName: string): string;
};

/** The migrations of each database, in order. */
// One migration a line, so that each later migration is a line of its own.
// prettier-ignore
const BY_DATABASE: Record<ApiKeyMigrationDatabase, TableMigrationClass[]> = {
  postgres: [
    CreateApiKeysPostgres1795478400000,
    AddKeyPoliciesPostgres1795564800000,
    AddCreditsPostgres1795651200000,
    AddKeyControlsPostgres1795737600000,
  ],
  mysql: [
    CreateApiKeysMysql1795478400000,
    AddKeyPoliciesMysql1795564800000,
    AddCreditsMysql1795651200000,
    AddKeyControlsMysql1795737600000,
  ],
  mariadb: [
    CreateApiKeysMysql1795478400000,
    AddKeyPoliciesMysql1795564800000,
    AddCreditsMysql1795651200000,
    AddKeyControlsMysql1795737600000,
  ],
  'better-sqlite3': [
    CreateApiKeysSqlite1795478400000,
    AddKeyPoliciesSqlite1795564800000,
    AddCreditsSqlite1795651200000,
    AddKeyControlsSqlite1795737600000,
  ],
  sqlite: [
    CreateApiKeysSqlite1795478400000,
    AddKeyPoliciesSqlite1795564800000,
    AddCreditsSqlite1795651200000,
    AddKeyControlsSqlite1795737600000,
  ],
};

const named = new Map<string, ApiKeyMigrationClass>();

/** The migration `base` bound to another table, one class per (migration, table). */
function forTable(base: TableMigrationClass, tableName: string): ApiKeyMigrationClass {
  const key = `${base.name}:${tableName}`;
  let migration = named.get(key);
  if (!migration) {
    const name = base.nameFor(tableName); // each migration's static nameFor, inherited by its subclasses
    migration = class extends base {
      override readonly tableName = tableName;
      override readonly name = name;
    };
    named.set(key, migration);
  }
  return migration;
}

/**
 * The migrations that create (and, reverted, drop) the key and audit tables on
 * one database, in order: the core's tables only (a feature with tables exports its own, e.g. `usageMigrations`). Add them to your own DataSource's `migrations`, next
 * to yours, and run them as you run yours (`migrationsRun: true`, or the TypeORM CLI).
 * @example
 * new DataSource({
 *   type: 'postgres',
 *   url: process.env.DATABASE_URL,
 *   entities: [ApiKeyEntity, ApiKeyEventEntity, ...yourEntities],
 *   migrations: [...apiKeyMigrations('postgres'), ...yourMigrations],
 *   migrationsRun: true,
 * });
 */
export function apiKeyMigrations(
  database: ApiKeyMigrationDatabase,
  options: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  return migrationsFor(BY_DATABASE, database, options);
}

/**
 * The migrations of one database from a table of them, bound to the key table: the core's, or a feature's
 * (each feature's entry exports its own function built on this one).
 */
export function migrationsFor(
  byDatabase: Record<ApiKeyMigrationDatabase, readonly TableMigrationClass[]>,
  database: ApiKeyMigrationDatabase,
  { tableName = DEFAULT_API_KEY_TABLE }: ApiKeyMigrationsOptions = {},
): ApiKeyMigrationClass[] {
  const migrations = Object.hasOwn(byDatabase, database) ? byDatabase[database] : undefined;
  if (!migrations) {
    throw new ApiKeyConfigurationError(
      `nestjs-opaque-keys ships migrations for ${Object.keys(byDatabase).join(', ')}; got ${JSON.stringify(database)}`,
      'database',
    );
  }
  if (tableName === DEFAULT_API_KEY_TABLE) return [...migrations];
  apiKeyEntityFor(tableName); // validates the name
  return migrations.map((migration) => forTable(migration, tableName));
}
