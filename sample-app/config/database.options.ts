import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import type { SampleAppConfig } from './sample-app.config.js';

/**
 * TypeORM options for the embedded SQLite file, creating its folder first.
 * `synchronize` creates the key table on first start: fine for a quick start;
 * a real deployment runs the library's migrations instead.
 */
export function databaseOptions(config: SampleAppConfig): TypeOrmModuleOptions {
  if (config.databasePath !== ':memory:') mkdirSync(dirname(config.databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: config.databasePath,
    autoLoadEntities: true,
    synchronize: true,
  };
}
