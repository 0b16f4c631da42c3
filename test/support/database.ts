import type { DataSourceOptions } from 'typeorm';

/**
 * Which database the suites run on: `DB_TYPE=sqlite` (default), `postgres` or
 * `mariadb`; the server is `DB_URL`, by default
 * postgres://postgres@127.0.0.1:5432/test or mysql://root@127.0.0.1:3306/test.
 * The jest global setup (test/support/global-setup.mjs) checks the server,
 * creates this run's schemas and hands them to the workers through the
 * environment variables below.
 */
export type TestDatabase = 'sqlite' | 'postgres' | 'mariadb';

const NAMESPACE_VARIABLE = 'APIKEYS_TEST_NAMESPACE';
const URL_VARIABLE = 'APIKEYS_TEST_DB_URL';

/** The database chosen by the environment. */
export function testDatabase(): TestDatabase {
  const type = (process.env.DB_TYPE ?? 'sqlite').toLowerCase();
  if (type === 'sqlite' || type === 'postgres' || type === 'mariadb') return type;
  throw new Error(`DB_TYPE must be sqlite, postgres or mariadb; got ${JSON.stringify(process.env.DB_TYPE)}`);
}

/** The server this run uses, as the global setup resolved it (`DB_URL` or the default). */
export function serverUrl(): string {
  return runVariable(URL_VARIABLE);
}

/**
 * This jest worker's private schema (PostgreSQL) or database (MariaDB),
 * `apikeys_<pid>_<random>_w<JEST_WORKER_ID>`. A worker runs its files one
 * after another and each file's app starts with `dropSchema` + `synchronize`,
 * so one schema per worker keeps parallel files apart.
 */
export function workerSchema(): string {
  return `${runVariable(NAMESPACE_VARIABLE)}_w${process.env.JEST_WORKER_ID ?? '1'}`;
}

/** Options of {@link testDataSourceOptions}. */
export interface TestDataSourceOptions {
  /** SQLite only: this database file instead of a private in-memory database, so that apps can share it. */
  sqliteFile?: string;
}

/**
 * Connection options for this worker's private database: in-memory SQLite
 * (or a file), or this worker's schema / database on the PostgreSQL or MariaDB
 * server. Callers add `dropSchema` / `synchronize` as they need.
 */
export function testDataSourceOptions({ sqliteFile }: TestDataSourceOptions = {}): DataSourceOptions {
  const type = testDatabase();
  if (type === 'sqlite') {
    return { type: 'better-sqlite3', database: sqliteFile ?? process.env.TEST_SQLITE_FILE ?? ':memory:' };
  }
  const schema = workerSchema();
  if (type === 'postgres') {
    // `schema` makes TypeORM qualify every name; the search_path sends raw,
    // unqualified SQL in tests to the same schema.
    return { type: 'postgres', url: serverUrl(), schema, extra: { options: `-c search_path=${schema}` } };
  }
  const url = new URL(serverUrl());
  url.pathname = `/${schema}`;
  return { type: 'mariadb', url: url.toString() };
}

function runVariable(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `DB_TYPE=${testDatabase()} but ${name} is not set: run the suites through jest.config.js, ` +
        'whose globalSetup checks the server and creates this run\'s schemas (npm run test:postgres / test:mariadb)',
    );
  }
  return value;
}
