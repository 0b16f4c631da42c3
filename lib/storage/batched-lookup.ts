import type { DataSource } from 'typeorm';
import { hashApiKey } from '../key/key-hash.js';
import { LookupBatcher } from './lookup-batcher.js';
import type { LookupStats } from './lookup-stats.js';
import { runLogged } from './statement-log.js';

/** A row as the driver returns it, before TypeORM's hydration. */
export type RawRow = Record<string, unknown>;
/** Builds the hot-column SELECT with this WHERE clause (TypeORM's query builder: quoting and placeholders follow the driver). */
export type LookupSql = (where: string, parameters: Record<string, unknown>) => string;
/** Looks one hash up as part of a batch: the raw row, or `undefined`. */
export type BatchedLookup = (hash: string) => Promise<RawRow | undefined>;

/**
 * Where the hot-path read goes on a DataSource with `replication`: the primary
 * (default: a request never sees a state older than its arrival), or a replica
 * (opt-in: as stale as the replica's lag).
 */
export type ReadFrom = 'primary' | 'replica';

/** Borrows a pooled connection through a TypeORM query runner, runs one logged statement on it, and gives it back. */
async function onPooledConnection(
  dataSource: DataSource,
  readFrom: ReadFrom,
  sql: string,
  parameters: unknown[],
  execute: (connection: any) => Promise<RawRow[]>,
): Promise<RawRow[]> {
  const runner = dataSource.createQueryRunner(readFrom === 'replica' ? 'slave' : 'master');
  try {
    const connection = await runner.connect();
    return await runLogged(dataSource, sql, parameters, runner, () => execute(connection));
  } finally {
    await runner.release();
  }
}

/** Lookups batched per event-loop turn (see {@link LookupBatcher}); rows matched to hashes exactly; each batch counted in `stats`. */
function batched(run: (hashes: readonly string[]) => Promise<RawRow[]>, stats?: LookupStats): BatchedLookup {
  const batcher = new LookupBatcher<string, RawRow>(
    async (hashes) => new Map((await run(hashes)).map((row) => [String(row.hash), row])),
    undefined,
    stats && ((size) => stats.batchSent(size)),
  );
  return (hash) => batcher.find(hash);
}

/**
 * PostgreSQL (pg): `WHERE hash = ANY($1)` as one named statement, parsed and
 * planned once per pooled connection, whatever the batch size.
 */
export function postgresLookup(
  dataSource: DataSource,
  lookupSql: LookupSql,
  readFrom: ReadFrom,
  stats?: LookupStats,
): BatchedLookup {
  const sql = lookupSql('k.hash = ANY(:hashes)', { hashes: [] });
  // The name is derived from the text: one name never meets two texts on a connection.
  const name = `nestjs_opaque_keys_${hashApiKey(sql).slice(0, 16)}`;
  return batched(
    (hashes) =>
      onPooledConnection(
        dataSource,
        readFrom,
        sql,
        [hashes],
        async (client) => (await client.query({ name, text: sql, values: [hashes] })).rows,
      ),
    stats,
  );
}

/**
 * MySQL / MariaDB (mysql2): `WHERE hash IN (?, ...)` through `execute`, prepared
 * once per pooled connection and list length; lengths are rounded up to a
 * power of two (padded with a repeated hash), so a connection prepares at most
 * seven texts.
 */
export function mysqlLookup(
  dataSource: DataSource,
  lookupSql: LookupSql,
  readFrom: ReadFrom,
  stats?: LookupStats,
): BatchedLookup {
  const texts = new Map<number, string>();
  return batched((hashes) => {
    const size = 2 ** Math.ceil(Math.log2(hashes.length));
    const values = [...hashes, ...Array<string>(size - hashes.length).fill(hashes[0])];
    let sql = texts.get(size);
    if (!sql) texts.set(size, (sql = lookupSql('k.hash IN (:...hashes)', { hashes: values })));
    const text = sql;
    return onPooledConnection(
      dataSource,
      readFrom,
      text,
      values,
      async (connection) => (await connection.promise().execute(text, values))[0],
    );
  }, stats);
}

/**
 * better-sqlite3: `WHERE hash IN (?, ...)`, the batch run synchronously when it
 * is sent (one statement, and one pass through SQLite's code, pages and WAL
 * read lock for every lookup of the turn); prepared once per list length
 * (rounded up to a power of two, as for MySQL) on TypeORM's one connection,
 * and prepared again if it reconnects.
 */
export function sqliteLookup(dataSource: DataSource, lookupSql: LookupSql, stats?: LookupStats): BatchedLookup {
  type Statement = { database: unknown; all(...params: unknown[]): RawRow[] };
  const statements = new Map<number, Statement>();
  const texts = new Map<number, string>();
  return batched(async (hashes) => {
    const size = 2 ** Math.ceil(Math.log2(hashes.length));
    const values = [...hashes, ...Array<string>(size - hashes.length).fill(hashes[0])];
    let sql = texts.get(size);
    if (!sql) texts.set(size, (sql = lookupSql('k.hash IN (:...hashes)', { hashes: values })));
    const text = sql;
    return runLogged(dataSource, text, values, undefined, () => {
      const connection = (dataSource.driver as { databaseConnection?: any }).databaseConnection;
      let statement = statements.get(size);
      if (statement?.database !== connection) statements.set(size, (statement = connection.prepare(text) as Statement));
      return statement!.all(...values);
    });
  }, stats);
}
