import { In, type DataSource } from 'typeorm';
import { asStoreUnavailable } from '../api-key.errors.js';
import type { ApiKeyColumns } from './api-key.entity.js';
import {
  LookupCoalescer,
  mysqlLookup,
  postgresLookup,
  type ReadFrom,
  type ReadTarget,
  runnerMode,
  sqliteLookup,
} from './batched-lookup.js';
import type { LookupStats } from './lookup-stats.js';
import type { ReplicaLagGate } from './replica-lag.js';
import { isPromise, thenApply, type MaybePromise } from './maybe-promise.js';
import { RowHydrator, type DriverRow } from './row-hydrator.js';
import { runLogged } from './statement-log.js';

/**
 * The columns the hot path reads: everything needed to decide, nothing more.
 * The one list: the lookup's SELECT, its hydration, the cached copy and
 * {@link StoredApiKey} all derive from it. `id` comes first.
 */
export const HOT_COLUMNS = [
  'id',
  'name',
  'ownerId',
  'scopes',
  'metadata',
  'expiresAt',
  'revokedAt',
  'remainingUses',
  'rateLimitMax',
  'rateLimitWindowMs',
  'hash',
  // Rotation family (rate limits and credits are the family's) and where its balance lives.
  'familyId',
  'replacedById',
  'refillAmount',
  'refillIntervalMs',
  'refilledAtMs',
  // Key controls: disabled keys and IP allowlists.
  'disabledAt',
  'allowedIps',
] as const satisfies readonly (keyof ApiKeyColumns)[];

/** A row as the hot path reads it: the {@link HOT_COLUMNS} of a key. */
export type StoredApiKey = Pick<ApiKeyColumns, (typeof HOT_COLUMNS)[number]>;

/**
 * What the guard needs from storage. One implementation ships (TypeORM);
 * the interface keeps the hot path independent of it.
 */
export interface ApiKeyStore {
  /**
   * The row with this hash, revoked and expired ones included, in one
   * statement (which concurrent lookups may share). May answer synchronously
   * (better-sqlite3, a cache hit); a failure is an
   * {@link ApiKeyStoreUnavailableError}, thrown or rejected.
   */
  findByHash(hash: string): MaybePromise<StoredApiKey | null>;
  /** Records use of these keys at `at`, in one statement. */
  markUsed(ids: readonly string[], at: Date): Promise<void>;
  /** The setup's lookup counts (cache hits and misses, batch sizes), read by telemetry. */
  readonly stats?: LookupStats;
}

/** Runs the lookup statement for one hash: the raw row, or `undefined`. */
type Lookup = (hash: string) => MaybePromise<DriverRow | undefined>;

function unavailable(cause: unknown): never {
  throw asStoreUnavailable(cause);
}

/**
 * The TypeORM store. The lookup SQL is built once from the entity metadata by
 * TypeORM's query builder (table name, quoting and placeholders follow the
 * driver), then kept prepared on the DataSource's own connections:
 *
 * - better-sqlite3: one prepared statement on TypeORM's connection, answered
 *   synchronously, with no promise;
 * - PostgreSQL (pg): a named statement, parsed and planned once per pooled
 *   connection; MySQL / MariaDB (mysql2): `execute`, prepared once per pooled
 *   connection. On both, the lookups that start in one turn of the event loop
 *   go out as one statement (`hash = ANY($1)` / `hash IN (...)`), sent after
 *   each of them was asked for (lib/batched-lookup.ts);
 * - any other driver, or a DataSource with subscribers: a TypeORM query runner.
 *
 * With TypeORM `replication`, every lookup runs on the primary, so "revoked on
 * the next request" holds; `readFrom: 'replica'` reads a replica instead
 * (opt-in: as stale as its replication lag), within `maxReplicaLagMs` when a
 * {@link ReplicaLagGate} is given (past it, the primary).
 *
 * Every statement is reported to the DataSource's logger, as `DataSource.query`
 * would. No query builder and no entity hydration per request.
 */
export class TypeOrmApiKeyStore implements ApiKeyStore {
  private lookup?: Lookup;
  private readonly readFrom: ReadTarget;
  /** Batch the lookups of one event-loop turn; `undefined`: on PostgreSQL and MySQL, not on SQLite. */
  private readonly batch: boolean | undefined;
  private readonly rows: RowHydrator<StoredApiKey>;
  /**
   * With `coalesce`, concurrent lookups of one hash share the statement in
   * flight (never a finished result); each caller hydrates its own copy. Off
   * by default: a request that joins a lookup sent before a revocation
   * committed would see the old state, so coalescing trades strict "next
   * request" semantics for one read per burst (staleness bounded by one
   * lookup's round trip).
   */
  private readonly inFlight?: LookupCoalescer<string, DriverRow | undefined>;
  /** Where batched lookups are counted (telemetry's batch size), if anywhere. */
  readonly stats?: LookupStats;

  constructor(
    private readonly dataSource: DataSource,
    private readonly entity: typeof ApiKeyColumns,
    options: {
      coalesce?: boolean;
      readFrom?: ReadFrom;
      batch?: boolean;
      stats?: LookupStats;
      /** With `readFrom: 'replica'`: decides per statement between the replica and the primary. */
      replicaLag?: ReplicaLagGate;
    } = {},
  ) {
    const gate = options.replicaLag;
    this.readFrom = options.readFrom === 'replica' && gate ? () => gate.readFrom() : (options.readFrom ?? 'primary');
    this.batch = options.batch;
    this.stats = options.stats;
    if (options.coalesce) this.inFlight = new LookupCoalescer();
    this.rows = new RowHydrator(dataSource, entity, HOT_COLUMNS);
  }

  findByHash(hash: string): MaybePromise<StoredApiKey | null> {
    const raw = this.inFlight ? this.inFlight.run(hash, async () => this.read(hash)) : this.read(hash);
    return thenApply(raw, (found) => (found ? this.rows.hydrate(found) : null));
  }

  async markUsed(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.dataSource
      .getRepository(this.entity)
      .update({ id: In([...ids]) }, { lastUsedAt: at })
      .catch(unavailable);
  }

  /** Runs the lookup; any driver failure, thrown or rejected, becomes an ApiKeyStoreUnavailableError. */
  private read(hash: string): MaybePromise<DriverRow | undefined> {
    this.lookup ??= this.prepareLookup();
    let raw: MaybePromise<DriverRow | undefined>;
    try {
      raw = this.lookup(hash);
    } catch (cause) {
      return unavailable(cause);
    }
    return isPromise(raw) ? raw.catch(unavailable) : raw;
  }

  /** Picks how the lookup runs on this DataSource's driver (see the class comment). */
  private prepareLookup(): Lookup {
    const lookupSql = (where: string, parameters: Record<string, unknown>): string => {
      const qb = this.dataSource.createQueryBuilder().from(this.entity, 'k').select('k.id', 'id');
      for (const column of HOT_COLUMNS.slice(1)) qb.addSelect(`k.${column}`, column);
      return qb.where(where, parameters).getQueryAndParameters()[0];
    };
    const sql = lookupSql('k.hash = :hash', { hash: '' });

    // Query subscribers expect to see every statement through a query runner.
    const query: Lookup = async (hash) => {
      const runner = this.dataSource.createQueryRunner(runnerMode(this.readFrom));
      try {
        return (await runner.query(sql, [hash]))[0];
      } finally {
        await runner.release();
      }
    };
    if (this.dataSource.subscribers.length > 0) return query;
    switch (this.dataSource.options.type) {
      case 'better-sqlite3':
        return this.batch === true
          ? sqliteLookup(this.dataSource, lookupSql, this.stats)
          : this.betterSqlite3Lookup(sql);
      case 'postgres':
        return this.batch !== false
          ? postgresLookup(this.dataSource, lookupSql, this.readFrom, HOT_COLUMNS, this.stats)
          : query;
      case 'mysql':
      case 'mariadb':
        return this.batch !== false
          ? mysqlLookup(this.dataSource, lookupSql, this.readFrom, HOT_COLUMNS, this.stats)
          : query;
      default:
        return query;
    }
  }

  /**
   * better-sqlite3 is synchronous and TypeORM keeps one connection: prepare
   * once, re-prepare if it reconnects, and answer without a promise. Rows come
   * as arrays in select order (`raw` mode), which the driver builds for a
   * fraction of what an object of named properties costs it.
   */
  private betterSqlite3Lookup(sql: string): Lookup {
    type Statement = {
      database: unknown;
      raw(on: boolean): Statement;
      columns(): { name: string }[];
      get(...params: unknown[]): unknown[] | undefined;
    };
    let statement: Statement | undefined;
    const prepare = (connection: { prepare(sql: string): Statement }): Statement => {
      const prepared = connection.prepare(sql).raw(true);
      // Values are read by position: the statement's columns must be the hot columns, in their order.
      const names = prepared.columns().map((column) => column.name);
      if (names.join() !== HOT_COLUMNS.join()) throw new Error(`lookup columns out of order: ${names.join()}`);
      return prepared;
    };
    const get = (hash: string): unknown[] | undefined => {
      const connection = (this.dataSource.driver as { databaseConnection?: any }).databaseConnection;
      if (statement?.database !== connection) statement = prepare(connection);
      return statement!.get(hash);
    };
    return (hash) => runLogged(this.dataSource, sql, [hash], undefined, get, hash);
  }
}
