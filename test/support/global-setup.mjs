// Jest global setup for the database suites. Plain ESM JavaScript on purpose:
// jest loads global hooks outside its module mapper, so they cannot import
// the TypeScript support files; the workers read what this file decides
// through the environment (see test/support/database.ts).
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

/** Where the server databases are unless `DB_URL` says otherwise. */
export const DEFAULT_DB_URLS = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mariadb: 'mysql://root@127.0.0.1:3306/test',
};

/** The run's namespace, `apikeys_<pid>_<random>`: every schema of the run is `<namespace>_<suffix>`. */
export const NAMESPACE_VARIABLE = 'APIKEYS_TEST_NAMESPACE';
/** The keys of the test files that have a schema of their own, `<namespace>_f<key>`. */
export const FILE_KEYS_VARIABLE = 'APIKEYS_TEST_FILE_KEYS';
/** The server URL the run uses (`DB_URL` or the default). */
export const URL_VARIABLE = 'APIKEYS_TEST_DB_URL';

const PRODUCT = { postgres: 'PostgreSQL', mariadb: 'MariaDB' };
const DEFAULT_PORT = { postgres: 5432, mariadb: 3306 };
/** Error codes that mean "nobody answered", as opposed to "someone answered no". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
]);
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
  // A schema still locked by a leaked connection fails the teardown instead of hanging it.
  await client.query("SET lock_timeout = '10s'");
  return {
    async create(names) {
      for (const name of names) await client.query(`CREATE SCHEMA ${client.escapeIdentifier(name)}`);
    },
    async dropByPrefix(prefix) {
      const { rows } = await client.query(
        'SELECT nspname AS name FROM pg_namespace WHERE left(nspname, length($1)) = $1',
        [prefix],
      );
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
  await connection.query('SET SESSION lock_wait_timeout = 10');
  return {
    async create(names) {
      // utf8mb4 whatever the server's default; the collation is the usual default (case-insensitive),
      // so that the suites see what a `synchronize`d production table sees.
      for (const name of names)
        await connection.query(
          `CREATE DATABASE ${connection.escapeId(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`,
        );
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
 * The key of a test file's schema: the same in the setup and in the worker
 * that runs the file (see test/support/database.ts).
 * @param {string} testPath absolute path
 */
export function testFileKey(testPath) {
  return createHash('sha1').update(testPath).digest('hex').slice(0, 10);
}

/**
 * The test files under the project's roots: `*.spec.ts`, `*.e2e-spec.ts` and
 * the like (`*.pg-spec.ts`).
 * @param {string[]} roots
 * @returns {string[]}
 */
function testFiles(roots) {
  return roots.flatMap((root) =>
    readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((file) => /[.-]spec\.ts$/.test(file) && !file.split(sep).includes('node_modules'))
      .map((file) => join(root, file)),
  );
}

/**
 * On SQLite nothing to do: every app gets its own in-memory database. On
 * PostgreSQL / MariaDB: fail the whole run at once, with a clear message, if
 * the server cannot be reached; otherwise create one schema (PostgreSQL) or
 * database (MariaDB) per test file, plus one per jest worker for files found
 * elsewhere, and hand their names to the workers.
 *
 * Why per file: each file's apps start with `dropSchema` + `synchronize`, so
 * two files must never share tables: not when they run in parallel workers,
 * and not when a file leaves work running behind it (a DataSource still
 * synchronizing after its test ended has broken the next file's tables).
 * Neither do runs of other people on the same server.
 * @param {{ maxWorkers: number }} globalConfig
 * @param {{ roots: string[] }} projectConfig
 */
export default async function globalSetup(globalConfig, projectConfig) {
  const type = databaseType();
  if (type === 'sqlite') return;
  const url = process.env.DB_URL || DEFAULT_DB_URLS[type];
  const admin = await connectAdmin(type, url);
  try {
    const namespace = `apikeys_${process.pid}_${randomBytes(4).toString('hex')}`;
    // Set before creating anything, so that the teardown cleans up after a partial failure too.
    process.env[NAMESPACE_VARIABLE] = namespace;
    process.env[URL_VARIABLE] = url;
    const files = testFiles(projectConfig.roots).map(testFileKey);
    process.env[FILE_KEYS_VARIABLE] = files.join(',');
    const workers = Array.from({ length: Math.max(1, globalConfig.maxWorkers) }, (_, i) => `w${i + 1}`);
    await admin.create([...files.map((key) => `f${key}`), ...workers].map((suffix) => `${namespace}_${suffix}`));
  } finally {
    await admin.close();
  }
}
