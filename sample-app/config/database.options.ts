import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { apiKeyEntities, apiKeyMigrations, type ApiKeyMigrationDatabase } from 'nestjs-opaque-keys';
import { ownerPolicyEntities, ownerPolicyMigrations } from 'nestjs-opaque-keys/owner-policies';
import { lastAddressEntities, lastAddressMigrations } from 'nestjs-opaque-keys/last-address';
import { usageEntities, usageMigrations } from 'nestjs-opaque-keys/usage';
import type { DataSourceOptions } from 'typeorm';
import type { SampleAppConfig } from './sample-app.config.js';
import { assertNotSynchronized } from './sqlite-file.check.js';

/**
 * The sample's database, as a plain TypeORM DataSource sees it (the app, the
 * operator CLI and the TypeORM CLI all use these): with `DATABASE_URL`, that
 * PostgreSQL or MySQL/MariaDB server; otherwise the embedded SQLite file, its
 * folder created first. The library's entities and migrations either way,
 * never `synchronize`: the tables are made by the migrations, so `doctor` and
 * `typeorm migration:run` see them as the app does. The core's tables, and the usage, owner-policies and
 * last-address features' (the sample counts usage, keeps owner policies and where keys were last used from). (The sample's orders live in
 * memory; an entity of its own would be listed here too.)
 */
export function dataSourceOptions(config: SampleAppConfig): DataSourceOptions {
  const common = {
    entities: [...apiKeyEntities(), ...usageEntities(), ...ownerPolicyEntities(), ...lastAddressEntities()],
    synchronize: false as const,
  };
  const migrations = (type: ApiKeyMigrationDatabase) => [
    ...apiKeyMigrations(type),
    ...usageMigrations(type),
    ...ownerPolicyMigrations(type),
    ...lastAddressMigrations(type),
  ];
  if (config.databaseUrl) {
    const type = config.databaseUrl.startsWith('postgres') ? 'postgres' : 'mariadb';
    const url = config.databaseUrl.replace(/^mariadb:/, 'mysql:');
    return { ...common, type, url, migrations: migrations(type) };
  }
  if (config.databasePath !== ':memory:') mkdirSync(dirname(config.databasePath), { recursive: true });
  assertNotSynchronized(config.databasePath);
  return {
    ...common,
    type: 'better-sqlite3',
    database: config.databasePath,
    migrations: migrations('better-sqlite3'),
  };
}

/**
 * The app's TypeORM options: {@link dataSourceOptions}, with the migrations
 * run at start (`migrationsRun`), so a first start creates the tables and
 * several instances can share a server database.
 */
export function databaseOptions(config: SampleAppConfig): TypeOrmModuleOptions {
  // A server may be starting; a local file will not fix itself.
  return { ...dataSourceOptions(config), migrationsRun: true, retryAttempts: config.databaseUrl ? 2 : 0 };
}
