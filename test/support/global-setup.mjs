// Jest global setup for the database suites. Plain ESM JavaScript on purpose:
// jest loads global hooks outside its module mapper, so they cannot import
// the TypeScript support files; the workers read what this file decides
// through the environment (see test/support/database.ts).
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** Where the server databases are unless `DB_URL` says otherwise. */
export const DEFAULT_DB_URLS = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mariadb: 'mysql://root@127.0.0.1:3306/test',
};

/** The run's namespace, `apikeys_<pid>_<random>`; each worker's schema is `<namespace>_w<JEST_WORKER_ID>`. */
export const NAMESPACE_VARIABLE = 'APIKEYS_TEST_NAMESPACE';
/** The server URL the run uses (`DB_URL` or the default). */
export const URL_VARIABLE = 'APIKEYS_TEST_DB_URL';

const PRODUCT = { postgres: 'PostgreSQL', mariadb: 'MariaDB' };
const DEFAULT_PORT = { postgres: 5432, mariadb: 3306 };
/** Error codes that mean "nobody answered", as opposed to "someone answered no". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET']);
const CONNECT_TIMEOUT_MS = 5000;

/**
 * `sqlite`, `postgres` or `mariadb`, from `DB_TYPE`.
 * @returns {'sqlite' | 'postgres' | 'mariadb'}
 */
export function databaseType() {
  const type = (process.env.DB_TYPE ?? 'sqlite').toLowerCase();
  if (type === 'sqlite' || type === 'postgres' || type === 'mariadb') return type;
  throw new Error(`DB_TYPE must be sqlite, postgres or mariadb; got ${JSON.stringify(process.env.DB_TYPE)}`);
}

/**
 * @typedef {object} AdminConnection
 * @property {(names: string[]) => Promise<void>} create creates these schemas (PostgreSQL) or databases (MariaDB)
 * @property {(prefix: string) => Promise<string[]>} dropByPrefix drops every schema / database named `prefix...`
 * @property {() => Promise<void>} close
 */

/**
 * Connects to the server for administration. A server that cannot be reached
 * fails with a message saying so and what to do, never with a bare driver error.
 * @param {'postgres' | 'mariadb'} type
 * @param {string} url
 * @returns {Promise<AdminConnection>}
 */
export async function connectAdmin(type, url) {
  const parsed = new URL(url);
  const where = `${parsed.hostname}:${parsed.port || DEFAULT_PORT[type]}`;
  try {
    return type === 'postgres' ? await connectPostgres(url) : await connectMariaDb(parsed);
  } catch (error) {
    const code = errorCode(error);
    const help = `start ${PRODUCT[type]} or ${process.env.DB_URL ? 'fix' : 'set'} DB_URL`;
    if (code && UNREACHABLE.has(code)) {
      throw new Error(`DB_TYPE=${type} but ${where} is unreachable (${code}): ${help}`, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `DB_TYPE=${type} but ${PRODUCT[type]} at ${where} refused the connection: ${message} (check the user, password and database of DB_URL)`,
      { cause: error },
    );
  }
}

/** @param {string} url @returns {Promise<AdminConnection>} */
async function connectPostgres(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection that dies while idle must not crash jest.
  client.on('error', () => undefined);
  await client.connect();
  return {
    async create(names) {
      for (const name of names) await client.query(`CREATE SCHEMA ${client.escapeIdentifier(name)}`);
    },
    async dropByPrefix(prefix) {
      const { rows } = await client.query('SELECT nspname AS name FROM pg_namespace WHERE left(nspname, length($1)) = $1', [prefix]);
      for (const { name } of rows) await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(name)} CASCADE`);
      return rows.map((row) => row.name);
    },
    close: () => client.end(),
  };
}

/** @param {URL} url @returns {Promise<AdminConnection>} */
async function connectMariaDb(url) {
  // No database in the admin connection: it must work before any exists.
  const admin = new URL(url);
  admin.pathname = '/';
  const connection = await mysql.createConnection({ uri: admin.toString(), connectTimeout: CONNECT_TIMEOUT_MS });
  connection.on('error', () => undefined);
  return {
    async create(names) {
      // utf8mb4 whatever the server's default; the collation is the usual default (case-insensitive),
      // so that the suites see what a `synchronize`d production table sees.
      for (const name of names) await connection.query(`CREATE DATABASE ${connection.escapeId(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
    },
    async dropByPrefix(prefix) {
      const [rows] = await connection.query(
        'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, CHAR_LENGTH(?)) = ?',
        [prefix, prefix],
      );
      for (const { name } of rows) await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
      return rows.map((row) => row.name);
    },
    close: () => connection.end(),
  };
}

/**
 * The errno-style code of a connection error (Node wraps dual-stack failures in an AggregateError).
 * @param {unknown} error
 * @returns {string | undefined}
 */
function errorCode(error) {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errors } = /** @type {{ code?: unknown, errors?: unknown[] }} */ (error);
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) return errors.map(errorCode).find(Boolean);
  if (error instanceof Error && /timeout/i.test(error.message)) return 'ETIMEDOUT';
  return undefined;
}

/**
 * On SQLite nothing to do: every app gets its own in-memory database. On
 * PostgreSQL / MariaDB: fail the whole run at once, with a clear message, if
 * the server cannot be reached; otherwise create one schema (PostgreSQL) or
 * database (MariaDB) per jest worker and hand their names to the workers.
 * Workers run their files one after another and each file's app starts with
 * `dropSchema` + `synchronize`, so files running in parallel never share
 * tables, and neither do runs of other people on the same server.
 * @param {{ maxWorkers: number }} globalConfig
 */
export default async function globalSetup(globalConfig) {
  const type = databaseType();
  if (type === 'sqlite') return;
  const url = process.env.DB_URL || DEFAULT_DB_URLS[type];
  const admin = await connectAdmin(type, url);
  try {
    const namespace = `apikeys_${process.pid}_${randomBytes(4).toString('hex')}`;
    // Set before creating anything, so that the teardown cleans up after a partial failure too.
    process.env[NAMESPACE_VARIABLE] = namespace;
    process.env[URL_VARIABLE] = url;
    const workers = Math.max(1, globalConfig.maxWorkers);
    await admin.create(Array.from({ length: workers }, (_, i) => `${namespace}_w${i + 1}`));
  } finally {
    await admin.close();
  }
}
