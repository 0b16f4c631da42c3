import type { DataSource } from 'typeorm';
import { hashApiKey } from '../key/key-hash.js';
import { LookupBatcher } from './lookup-batcher.js';
import { runLogged } from './statement-log.js';

/** A row as the driver returns it, before TypeORM's hydration. */
export type RawRow = Record<string, unknown>;
/** Builds the hot-column SELECT with this WHERE clause (TypeORM's query builder: quoting and placeholders follow the driver). */
export type LookupSql = (where: string, parameters: Record<string, unknown>) => string;
/** Looks one hash up as part of a batch: the raw row, or `undefined`. */
export type BatchedLookup = (hash: string) => Promise<RawRow | undefined>;

/** Borrows a pooled connection through a TypeORM query runner, runs one logged statement on it, and gives it back. */
async function onPooledConnection(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  execute: (connection: any) => Promise<RawRow[]>,
): Promise<RawRow[]> {
  const runner = dataSource.createQueryRunner('master');
  try {
    const connection = await runner.connect();
    return await runLogged(dataSource, sql, parameters, runner, () => execute(connection));
  } finally {
    await runner.release();
  }
}

/** Lookups batched per event-loop turn (see {@link LookupBatcher}); rows matched to hashes exactly. */
function batched(run: (hashes: readonly string[]) => Promise<RawRow[]>): BatchedLookup {
  const batcher = new LookupBatcher<string, RawRow>(
    async (hashes) => new Map((await run(hashes)).map((row) => [String(row.hash), row])),
  );
  return (hash) => batcher.find(hash);
}

/**
 * PostgreSQL (pg): `WHERE hash = ANY($1)` as one named statement, parsed and
 * planned once per pooled connection, whatever the batch size.
 */
export function postgresLookup(dataSource: DataSource, lookupSql: LookupSql): BatchedLookup {
  const sql = lookupSql('k.hash = ANY(:hashes)', { hashes: [] });
  // The name is derived from the text: one name never meets two texts on a connection.
  const name = `nestjs_opaque_keys_${hashApiKey(sql).slice(0, 16)}`;
  return batched((hashes) =>
    onPooledConnection(
      dataSource,
      sql,
      [hashes],
      async (client) => (await client.query({ name, text: sql, values: [hashes] })).rows,
    ),
  );
}

/**
 * MySQL / MariaDB (mysql2): `WHERE hash IN (?, ...)` through `execute`, prepared
 * once per pooled connection and list length; lengths are rounded up to a
 * power of two (padded with a repeated hash), so a connection prepares at most
 * seven texts.
 */
export function mysqlLookup(dataSource: DataSource, lookupSql: LookupSql): BatchedLookup {
  const texts = new Map<number, string>();
  return batched((hashes) => {
    const size = 2 ** Math.ceil(Math.log2(hashes.length));
    const values = [...hashes, ...Array<string>(size - hashes.length).fill(hashes[0])];
    let sql = texts.get(size);
    if (!sql) texts.set(size, (sql = lookupSql('k.hash IN (:...hashes)', { hashes: values })));
    const text = sql;
    return onPooledConnection(
      dataSource,
      text,
      values,
      async (connection) => (await connection.promise().execute(text, values))[0],
    );
  });
}
