import { expect } from '@jest/globals';
import { createHash } from 'node:crypto';
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
const FILE_KEYS_VARIABLE = 'APIKEYS_TEST_FILE_KEYS';

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
 * This test file's private schema (PostgreSQL) or database (MariaDB),
 * `apikeys_<pid>_<random>_f<key>`, created by the global setup; for a test
 * file outside the project's roots, its worker's, `..._w<JEST_WORKER_ID>`.
 * Every app a file starts drops and recreates the tables of that schema, so
 * files never see each other's tables, whether they run in parallel workers or
 * one after another (even if a file leaves a DataSource running behind).
 */
export function testSchema(): string {
  const namespace = runVariable(NAMESPACE_VARIABLE);
  const testPath = expect.getState().testPath;
  if (testPath) {
    // The same key as global-setup.mjs's testFileKey.
    const key = createHash('sha1').update(testPath).digest('hex').slice(0, 10);
    if ((process.env[FILE_KEYS_VARIABLE] ?? '').split(',').includes(key)) return `${namespace}_f${key}`;
  }
  return `${namespace}_w${process.env.JEST_WORKER_ID ?? '1'}`;
}

/** @deprecated The schema is now per test file: use {@link testSchema}. */
export const workerSchema = testSchema;

/** Options of {@link testDataSourceOptions}. */
export interface TestDataSourceOptions {
  /** SQLite only: this database file instead of a private in-memory database, so that apps can share it. */
  sqliteFile?: string;
}

/**
 * Connection options for this test file's private database: in-memory SQLite
 * (or a file), or the file's schema / database on the PostgreSQL or MariaDB
 * server. Callers add `dropSchema` / `synchronize` as they need.
 */
export function testDataSourceOptions({ sqliteFile }: TestDataSourceOptions = {}): DataSourceOptions {
  const type = testDatabase();
  if (type === 'sqlite') {
    return { type: 'better-sqlite3', database: sqliteFile ?? process.env.TEST_SQLITE_FILE ?? ':memory:' };
  }
  const schema = testSchema();
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
        "whose globalSetup checks the server and creates this run's schemas (npm run test:postgres / test:mariadb)",
    );
  }
  return value;
}
