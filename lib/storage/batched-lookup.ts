import type { DataSource } from 'typeorm';
import { hashApiKey } from '../key/key-hash.js';
import type { LookupStats } from './lookup-stats.js';
import { runLogged } from './statement-log.js';

/** A row as the driver returns it, before TypeORM's hydration: by column alias, or as values in select order. */
export type RawRow = Record<string, unknown> | readonly unknown[];
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
/** Where each lookup statement goes: fixed, or decided per statement (the replica lag bound, lib/storage/replica-lag.ts). */
export type ReadTarget = ReadFrom | (() => ReadFrom);

/** The query runner mode of a statement sent now. */
export function runnerMode(target: ReadTarget): 'master' | 'slave' {
  return (typeof target === 'function' ? target() : target) === 'replica' ? 'slave' : 'master';
}

/** Borrows a pooled connection through a TypeORM query runner, runs one logged statement on it, and gives it back. */
async function onPooledConnection(
  dataSource: DataSource,
  readFrom: ReadTarget,
  sql: string,
  parameters: unknown[],
  execute: (connection: any) => Promise<RawRow[]>,
): Promise<RawRow[]> {
  const runner = dataSource.createQueryRunner(runnerMode(readFrom));
  try {
    const connection = await runner.connect();
    return await runLogged(dataSource, sql, parameters, runner, () => execute(connection));
  } finally {
    await runner.release();
  }
}

/**
 * Lookups batched per event-loop turn (see {@link LookupBatcher}); rows matched to hashes exactly (by the `hash`
 * column, or the value at `hashIndex` of a row of values); each batch counted in `stats`.
 */
function batched(
  run: (hashes: readonly string[]) => Promise<RawRow[]>,
  stats?: LookupStats,
  hashIndex?: number,
): BatchedLookup {
  const hashOf = (row: RawRow) => String(Array.isArray(row) ? row[hashIndex!] : (row as Record<string, unknown>).hash);
  const batcher = new LookupBatcher<string, RawRow>(
    async (hashes) => new Map((await run(hashes)).map((row) => [hashOf(row), row])),
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
  readFrom: ReadTarget,
  columns: readonly string[],
  stats?: LookupStats,
): BatchedLookup {
  const sql = lookupSql('k.hash = ANY(:hashes)', { hashes: [] });
  // The name is derived from the text: one name never meets two texts on a connection.
  const name = `nestjs_opaque_keys_${hashApiKey(sql).slice(0, 16)}`;
  const checked = columnCheck(columns);
  return batched(
    (hashes) =>
      onPooledConnection(dataSource, readFrom, sql, [hashes], async (client) => {
        // Rows as arrays of values: pg builds no object of named properties per row.
        const result = await client.query({ name, text: sql, values: [hashes], rowMode: 'array' });
        return checked(result.fields, result.rows);
      }),
    stats,
    columns.indexOf('hash'),
  );
}

/**
 * Rows of values are read by position: the first answer's columns must be `columns`, in their order (checked
 * once; a mismatch is a store failure, never a misread row).
 */
function columnCheck(columns: readonly string[]): (fields: { name: string }[], rows: RawRow[]) => RawRow[] {
  let verified = false;
  return (fields, rows) => {
    if (verified) return rows;
    const names = fields.map((field) => field.name);
    if (names.join() !== columns.join()) throw new Error(`lookup columns out of order: ${names.join()}`);
    verified = true;
    return rows;
  };
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
  readFrom: ReadTarget,
  columns: readonly string[],
  stats?: LookupStats,
): BatchedLookup {
  const texts = new Map<number, string>();
  const checked = columnCheck(columns);
  return batched(
    (hashes) => {
      const size = 2 ** Math.ceil(Math.log2(hashes.length));
      const values = [...hashes, ...Array<string>(size - hashes.length).fill(hashes[0])];
      let sql = texts.get(size);
      if (!sql) texts.set(size, (sql = lookupSql('k.hash IN (:...hashes)', { hashes: values })));
      const text = sql;
      return onPooledConnection(dataSource, readFrom, text, values, async (connection) => {
        // Rows as arrays of values: mysql2 builds no object of named properties per row.
        const [rows, fields] = await connection.promise().execute({ sql: text, rowsAsArray: true }, values);
        return checked(fields, rows);
      });
    },
    stats,
    columns.indexOf('hash'),
  );
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

/** Runs one statement for a batch of distinct keys: what it found, by key (absent keys: not found). */
export type BatchLoad<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

interface Waiting<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

/**
 * Gathers the lookups that start in one turn of the event loop and sends them
 * as one batch (for the store: one `WHERE hash = ANY($1)` statement), DataLoader style: under load,
 * requests parsed in the same poll phase share a database round trip.
 *
 * Unlike sharing a lookup already in flight, this never answers a request
 * with a statement sent before the request arrived: the batch is sent after
 * every lookup in it was asked for, so a request that starts after a change
 * committed always sees the change. Nothing is kept once a batch settles.
 * Pure: no Nest, no TypeORM.
 */
export class LookupBatcher<K, V> {
  private queue = new Map<K, Waiting<V>[]>();
  private scheduled = false;

  /**
   * @param load runs one batch
   * @param maxBatch most distinct keys per statement; a fuller queue is sent in several
   * @param onBatch told the number of distinct keys of each batch as it is sent (counts for telemetry)
   */
  constructor(
    private readonly load: BatchLoad<K, V>,
    private readonly maxBatch = 64,
    private readonly onBatch?: (size: number) => void,
  ) {}

  /** What the batch this lookup joins finds for `key` (`undefined`: not found). Rejects when the batch fails. */
  find(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiting = this.queue.get(key);
      if (waiting) waiting.push({ resolve, reject });
      else this.queue.set(key, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends everything queued, `maxBatch` keys per statement. */
  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = new Map();
    const keys = [...queued.keys()];
    for (let start = 0; start < keys.length; start += this.maxBatch) {
      const batch = keys.slice(start, start + this.maxBatch);
      this.onBatch?.(batch.length);
      this.load(batch).then(
        (found) => {
          for (const key of batch) for (const waiting of queued.get(key)!) waiting.resolve(found.get(key));
        },
        (error: unknown) => {
          for (const key of batch) for (const waiting of queued.get(key)!) waiting.reject(error);
        },
      );
    }
  }
}

/**
 * Lets concurrent lookups of the same key share one in-flight promise, so a
 * burst of requests carrying one API key costs one database read.
 *
 * Only work in flight is shared: the entry is dropped the moment its promise
 * settles (fulfilled or rejected), so a lookup that starts afterwards always
 * reads the database again. Nothing is cached.
 */
export class LookupCoalescer<K, V> {
  private readonly inFlight = new Map<K, Promise<V>>();

  /** The pending lookup of `key` if there is one, else `load()`, shared until it settles. */
  run(key: K, load: () => Promise<V>): Promise<V> {
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = load().finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }
}
