import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { API_KEY_DATA_SOURCE } from './api-key.constants.js';
import { ApiKeyError, ApiKeyStoreUnavailableError } from './api-key.errors.js';

/**
 * Runs the service's database work: in a transaction when asked, with driver
 * failures mapped to {@link ApiKeyStoreUnavailableError} and this library's
 * own errors let through. SQLite runs on one connection, so statements
 * interleaved with an open transaction would join it: there, work runs one
 * piece at a time.
 */
@Injectable()
export class ApiKeyUnitOfWork {
  private serial: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;

  constructor(@Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type.includes('sqlite');
  }

  /** Pessimistic row locks where the driver has them (not on SQLite, whose writes are serialized anyway). */
  get writeLock(): { mode: 'pessimistic_write' } | undefined {
    return this.serialize ? undefined : { mode: 'pessimistic_write' };
  }

  /** Runs `work` with an entity manager (a transactional one when `transactional`). */
  run<T>(work: (em: EntityManager) => Promise<T>, transactional = false): Promise<T> {
    const attempt = async () => {
      try {
        return transactional ? await this.dataSource.transaction(work) : await work(this.dataSource.manager);
      } catch (error) {
        if (error instanceof ApiKeyError) throw error;
        throw new ApiKeyStoreUnavailableError({ cause: error });
      }
    };
    if (!this.serialize) return attempt();
    const result = this.serial.then(attempt, attempt);
    this.serial = result.catch(() => undefined);
    return result;
  }
}
