import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import type { ApiKeyStore, StoredApiKey } from '../storage/api-key.store.js';
import { CachedApiKeyStore } from './cached-api-key.store.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import {
  invalidationChannel,
  type ApiKeyInvalidation,
  type ApiKeyInvalidationBus,
  type ApiKeyInvalidationHandlers,
} from './invalidation-bus.js';
import type { LookupCache } from './lookup-cache.js';
import { PostgresInvalidationBus } from './postgres-invalidation.bus.js';

/**
 * Keeps the lookup cache (the `cache` option) in step with changes. Every
 * change of the service and of rotation calls {@link changed} itself, inside
 * its transaction, after its statements: the bus is told (PostgreSQL NOTIFY
 * in that transaction, other buses after commit) and this instance's entries
 * are dropped once the transaction has ended. It also subscribes to the bus on
 * start-up and closes it on shutdown. Without the `cache` option it does
 * nothing and runs no statement. Applications use it only for {@link caching},
 * e.g. in a health check.
 */
@Injectable()
export class ApiKeyCacheInvalidator implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyCache');
  private readonly bus?: ApiKeyInvalidationBus;
  private readonly channel: string = '';

  private readonly cache: LookupCache<StoredApiKey> | null;
  private readonly dataSource: DataSource;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly db: ApiKeyDatabase,
    @Inject(API_KEY_STORE) store: ApiKeyStore,
  ) {
    this.cache = store instanceof CachedApiKeyStore ? store.cache : null;
    const dataSource = (this.dataSource = db.dataSource);
    const entity = db.keys;
    const invalidation = options.cache?.invalidation;
    if (!this.cache || !invalidation) return;
    const postgres = dataSource.options.type === 'postgres';
    if (invalidation === 'postgres' && !postgres)
      throw new ApiKeyConfigurationError(
        "cache.invalidation 'postgres' needs a PostgreSQL DataSource",
        'cache.invalidation',
      );
    if (invalidation === 'postgres' || (invalidation === 'auto' && postgres)) {
      this.bus = new PostgresInvalidationBus(dataSource, { onError: (message) => this.logger.warn(message) });
    } else if (typeof invalidation === 'object') {
      this.bus = invalidation;
    }
    if (!this.bus) return;
    const metadata = dataSource.getMetadata(entity);
    const database = (dataSource.driver as { database?: string }).database ?? '';
    this.channel = invalidationChannel(metadata.tableName, `${database}/${metadata.tablePath}`);
    // Read live until the bus says it listens.
    this.cache.suspend();
  }

  /** The bus in use, if any (for diagnostics and tests). */
  get invalidationBus(): ApiKeyInvalidationBus | undefined {
    return this.bus;
  }

  /**
   * Whether cached rows are being served right now: `false` without a cache,
   * and while the bus is not listening (every request then reads live). A
   * diagnostic for health checks and metrics.
   * @example
   * app.get(ApiKeyCacheInvalidator).caching; // true once the bus listens
   */
  get caching(): boolean {
    return this.cache?.active ?? false;
  }

  async onModuleInit(): Promise<void> {
    if (!this.cache) return;
    if (!this.bus) {
      this.logger.warn(
        `API key cache is per instance (no invalidation bus on ${this.dataSource.options.type}): ` +
          `other instances see revocations and scope changes only when their entry expires, within ${this.options.cache!.ttlMs} ms`,
      );
      return;
    }
    const cache = this.cache;
    let listened = false;
    const handlers: ApiKeyInvalidationHandlers = {
      invalidate: (ids) => cache.invalidate(ids),
      invalidateAll: () => cache.clear(),
      reset: () => {
        if (listened && !cache.active)
          this.logger.log('API key cache invalidation listening again; the cache starts empty');
        listened = true;
        cache.reset();
      },
      suspend: () => cache.suspend(),
      warn: (message) => this.logger.warn(message),
    };
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.options.cache!;
    await this.bus.subscribe(this.channel, handlers, {
      intervalMs: heartbeatIntervalMs,
      timeoutMs: heartbeatTimeoutMs,
    });
    if (!cache.active) this.logger.warn('API key cache invalidation bus not listening yet: reading live until it is');
  }

  async onModuleDestroy(): Promise<void> {
    this.cache?.suspend();
    await this.bus?.close();
  }

  /**
   * Records that these keys changed in the transaction of `em` (call it inside
   * the transaction, after the change's statements).
   * @throws what a transactional bus's publish throws, failing the change
   */
  async changed(em: EntityManager, change: ApiKeyInvalidation): Promise<void> {
    const cache = this.cache;
    if (!cache) return;
    if (this.bus?.delivery === 'transaction') await this.bus.publish(this.channel, change, em);
    this.db.afterTransaction(em, () => {
      if ('all' in change) cache.clear();
      else cache.invalidate(change.ids);
      if (this.bus?.delivery === 'after-commit') {
        this.bus.publish(this.channel, change).catch((error: Error) => {
          this.logger.warn(
            `could not publish a cache invalidation (other instances catch up within ${this.options.cache!.ttlMs} ms): ${error.message}`,
          );
        });
      }
    });
  }
}
