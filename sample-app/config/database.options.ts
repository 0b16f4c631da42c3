import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { apiKeyMigrations } from 'nestjs-opaque-keys';
import type { SampleAppConfig } from './sample-app.config.js';

/**
 * TypeORM options: with `DATABASE_URL`, that PostgreSQL or MySQL/MariaDB
 * server, its tables made by the library's migrations (run at start, never
 * `synchronize`), so several instances can share it. Otherwise the embedded
 * SQLite file, its folder created first, where `synchronize` creates the key
 * table on first start: fine for a quick start only.
 */
export function databaseOptions(config: SampleAppConfig): TypeOrmModuleOptions {
  if (config.databaseUrl) {
    const type = config.databaseUrl.startsWith('postgres') ? 'postgres' : 'mariadb';
    return {
      type,
      url: config.databaseUrl.replace(/^mariadb:/, 'mysql:'),
      autoLoadEntities: true,
      synchronize: false,
      migrations: apiKeyMigrations(type),
      migrationsRun: true,
      retryAttempts: 2,
    };
  }
  if (config.databasePath !== ':memory:') mkdirSync(dirname(config.databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: config.databasePath,
    autoLoadEntities: true,
    synchronize: true,
  };
}
