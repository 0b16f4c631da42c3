import type { OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { ApiKeyConfigurationError, asStoreUnavailable } from '../api-key.errors.js';
import type { ApiKeyEventColumns } from './api-key-event.entity.js';
import type { ApiKeyColumns } from './api-key.entity.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import { recordKeyFormat } from './key-format.record.js';
import { ReplicaLagGate } from './replica-lag.js';
import { checkTables, type ApiKeyDatabaseShape } from './schema-check.js';

export type { ApiKeyDatabaseShape } from './schema-check.js';

/** The boot error when the host app has no TypeORM DataSource of that name. */
export function noDataSourceMessage(name: string | undefined): string {
  if (name === undefined || name === 'default') {
    return (
      'nestjs-opaque-keys: ApiKeyModule found no TypeORM DataSource. ' +
      'Import TypeOrmModule.forRoot({ type: ..., autoLoadEntities: true, ... }) (or forRootAsync) in your app module, ' +
      'beside ApiKeyModule.forRoot(); the library uses your connection and never opens its own.'
    );
  }
  return (
    `nestjs-opaque-keys: ApiKeyModule.forRoot({ dataSource: ${JSON.stringify(name)} }) found no TypeORM DataSource ` +
    `named ${JSON.stringify(name)}. Import TypeOrmModule.forRoot({ name: ${JSON.stringify(name)}, ... }) in your app ` +
    'module, or drop the dataSource option to use the default DataSource.'
  );
}

/**
 * A key setup's database: the host's TypeORM DataSource, the setup's tables, and the one way work runs on it.
 * Every read and change of the library (core and features) runs through {@link run}: driver failures become
 * `ApiKeyStoreUnavailableError` (the library's own errors pass through); under TypeORM `replication` work runs
 * on the primary; on SQLite, which has one connection, work runs one piece at a time (statements interleaved
 * with an open transaction would join it). At boot ({@link onModuleInit}) it checks, before any request, that
 * the DataSource knows every entity and that the tables and columns exist, and fails the boot with the fix; then
 * it records the setup's key format for the operator CLI (`recordKeyFormat`).
 * The request path's lookup does not go through here (see `TypeOrmApiKeyStore`).
 */
export class ApiKeyDatabase implements OnModuleInit, OnApplicationShutdown {
  readonly keys: typeof ApiKeyColumns;
  readonly events: typeof ApiKeyEventColumns;
  private serial: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;
  /** TypeORM `replication`: reads outside transactions would go to a replica unless sent to the primary. */
  private readonly replicated: boolean;
  /** Callbacks to run once each open transaction has ended, by its EntityManager. */
  private readonly pending = new WeakMap<EntityManager, (() => void)[]>();
  /** Callbacks to run only once each open transaction has committed, by its EntityManager. */
  private readonly committed = new WeakMap<EntityManager, (() => void)[]>();
  /** With `readFrom: 'replica'` and `maxReplicaLagMs` under replication: where each guard lookup may go. */
  readonly replicaLag?: ReplicaLagGate;

  constructor(
    readonly dataSource: DataSource,
    private readonly shape: ApiKeyDatabaseShape,
    private readonly options?: ResolvedApiKeyOptions,
  ) {
    this.keys = shape.keys;
    this.events = shape.events;
    this.serialize = dataSource.options.type.includes('sqlite') || dataSource.options.type === 'sqljs';
    this.replicated = Boolean((dataSource.options as { replication?: unknown }).replication);
    if (this.replicated && options?.readFrom === 'replica' && options.maxReplicaLagMs !== undefined)
      this.replicaLag = new ReplicaLagGate(dataSource, {
        maxLagMs: options.maxReplicaLagMs,
        intervalMs: options.replicaLagCheckIntervalMs,
      });
  }

  /**
   * The setup's database on the host's DataSource, or the boot error naming `TypeOrmModule.forRoot()` instead
   * of Nest's generic "can't resolve dependencies".
   * @throws ApiKeyConfigurationError when the app has no DataSource of that name
   */
  static of(
    dataSource: DataSource | undefined,
    name: string | undefined,
    shape: ApiKeyDatabaseShape,
    options?: ResolvedApiKeyOptions,
  ): ApiKeyDatabase {
    if (!dataSource) throw new ApiKeyConfigurationError(noDataSourceMessage(name), 'dataSource');
    return new ApiKeyDatabase(dataSource, shape, options);
  }

  /**
   * The boot check: entities registered, and (unless `schemaCheck: false`) tables and columns present; then the
   * key format recorded for the operator CLI (unless `recordKeyFormat: false`; a failure only warns).
   */
  async onModuleInit(): Promise<void> {
    await checkTables(this.dataSource, this.shape);
    if (this.options) await recordKeyFormat(this.dataSource, this.events, this.options);
    // The first lag check before the first request; until a check finds the replica within the bound, the primary.
    await this.replicaLag?.start();
  }

  /** Stops the replica lag checks. */
  async onApplicationShutdown(): Promise<void> {
    await this.replicaLag?.stop();
  }

  /** Pessimistic row locks where the driver has them (not on SQLite, whose writes are serialized anyway). */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.serialize ? undefined : { mode: 'pessimistic_write' };
  }

  /**
   * Runs `work` with an entity manager: a transaction's when `transactional`, else the primary's.
   * @throws ApiKeyStoreUnavailableError for a driver failure; the library's own errors as they are
   */
  run<T>(work: (em: EntityManager) => Promise<T>, transactional = false): Promise<T> {
    const attempt = async () => {
      try {
        return transactional ? await this.transaction(work) : await this.onPrimary(work);
      } catch (error) {
        throw asStoreUnavailable(error);
      }
    };
    if (!this.serialize) return attempt();
    const result = this.serial.then(attempt, attempt);
    this.serial = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `callback` once the transaction of `em` has ended (committed, or
   * failed: a commit whose outcome is unknown counts as done, so callers must
   * only do things that are harmless if nothing changed). Outside a
   * transaction of {@link run}, runs it now.
   */
  afterTransaction(em: EntityManager, callback: () => void): void {
    const callbacks = this.pending.get(em);
    if (callbacks) callbacks.push(callback);
    else callback();
  }

  /**
   * Runs `callback` once the transaction of `em` has committed, and never if
   * it rolled back or failed. Outside a transaction of {@link run}, runs it now.
   */
  afterCommit(em: EntityManager, callback: () => void): void {
    const callbacks = this.committed.get(em);
    if (callbacks) callbacks.push(callback);
    else callback();
  }

  /**
   * Runs `work` outside a transaction, on the primary: with replication, a
   * read right after a change (the record `revoke` returns) must see it.
   */
  private async onPrimary<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (!this.replicated) return work(this.dataSource.manager);
    const runner = this.dataSource.createQueryRunner('master');
    try {
      return await work(runner.manager);
    } finally {
      await runner.release();
    }
  }

  private async transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    const callbacks: (() => void)[] = [];
    const onCommit: (() => void)[] = [];
    let committed = false;
    try {
      const result = await this.dataSource.transaction((em) => {
        this.pending.set(em, callbacks);
        this.committed.set(em, onCommit);
        return work(em);
      });
      committed = true;
      return result;
    } finally {
      for (const callback of callbacks) callback();
      if (committed) for (const callback of onCommit) callback();
    }
  }
}
