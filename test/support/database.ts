import type { DataSourceOptions } from 'typeorm';

/** Which database the suites run on: `DB_TYPE=sqlite` (default), `postgres` or `mariadb`. */
export type TestDatabase = 'sqlite' | 'postgres' | 'mariadb';

/** The database chosen by the environment. */
export function testDatabase(): TestDatabase {
  const type = (process.env.DB_TYPE ?? 'sqlite').toLowerCase();
  if (type === 'sqlite' || type === 'postgres' || type === 'mariadb') return type;
  throw new Error(`DB_TYPE must be sqlite, postgres or mariadb; got ${JSON.stringify(process.env.DB_TYPE)}`);
}

/**
 * Connection options for a fresh, private database: an in-memory SQLite
 * database, or (for the server databases) the URL in `DB_URL`.
 */
export function testDataSourceOptions(): DataSourceOptions {
  const type = testDatabase();
  if (type === 'sqlite') return { type: 'better-sqlite3', database: process.env.TEST_SQLITE_FILE ?? ':memory:' };
  if (type === 'postgres') return { type: 'postgres', url: process.env.DB_URL ?? 'postgres://postgres@127.0.0.1:5432/test' };
  return { type: 'mariadb', url: process.env.DB_URL ?? 'mysql://root@127.0.0.1:3306/test' };
}
