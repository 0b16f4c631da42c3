import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { API_KEY_DATA_SOURCE } from '../api-key.constants.js';
import { asStoreUnavailable } from '../api-key.errors.js';

/**
 * Runs the service's database work: in a transaction when asked, with driver
 * failures mapped to `ApiKeyStoreUnavailableError` and this library's
 * own errors let through (`asStoreUnavailable`). SQLite runs on one connection, so statements
 * interleaved with an open transaction would join it: there, work runs one
 * piece at a time.
 */
@Injectable()
export class ApiKeyUnitOfWork {
  private serial: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;
  /** TypeORM `replication`: reads outside transactions would go to a replica unless sent to the primary. */
  private readonly replicated: boolean;
  /** Callbacks to run once each open transaction has ended, by its EntityManager. */
  private readonly pending = new WeakMap<EntityManager, (() => void)[]>();
  /** Callbacks to run only once each open transaction has committed, by its EntityManager. */
  private readonly committed = new WeakMap<EntityManager, (() => void)[]>();

  constructor(@Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type.includes('sqlite') || dataSource.options.type === 'sqljs';
    this.replicated = Boolean((dataSource.options as { replication?: unknown }).replication);
  }

  /** Pessimistic row locks where the driver has them (not on SQLite, whose writes are serialized anyway). */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.serialize ? undefined : { mode: 'pessimistic_write' };
  }

  /**
   * Runs `callback` once the transaction of `em` has ended (committed, or
   * failed: a commit whose outcome is unknown counts as done, so callers must
   * only do things that are harmless if nothing changed). Outside a
   * transaction of this unit of work, runs it now.
   */
  afterTransaction(em: EntityManager, callback: () => void): void {
    const callbacks = this.pending.get(em);
    if (callbacks) callbacks.push(callback);
    else callback();
  }

  /**
   * Runs `callback` once the transaction of `em` has committed, and never if
   * it rolled back or failed (lifecycle events: a change that did not happen
   * is never announced). Outside a transaction of this unit of work, runs it now.
   */
  afterCommit(em: EntityManager, callback: () => void): void {
    const callbacks = this.committed.get(em);
    if (callbacks) callbacks.push(callback);
    else callback();
  }

  /** Runs `work` with an entity manager (a transactional one when `transactional`). */
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
