import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyStore } from '../storage/api-key.store.js';
import { IntervalBatcher } from './interval-batcher.js';

/**
 * Write-behind recorder of `lastUsedAt`: the request path only notes the key
 * id in memory; a timer writes all noted ids in one UPDATE per interval, and
 * a key is written at most once per interval. Flushed on shutdown.
 */
@Injectable()
export class LastUsedRecorder implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyLastUsed');
  private readonly batcher: IntervalBatcher<true>;

  constructor(@Inject(API_KEY_OPTIONS) options: ResolvedApiKeyOptions, @Inject(API_KEY_STORE) store: ApiKeyStore) {
    this.batcher = new IntervalBatcher<true>(
      options.lastUsedIntervalMs,
      (entries, now) => store.markUsed([...entries.keys()], new Date(now)),
      (error, count) => this.logger.warn(`could not record lastUsedAt of ${count} key(s): ${(error as Error).message}`),
    );
  }

  /** Notes a use of the key. O(1), no I/O. */
  touch(id: string, now: number = Date.now()): void {
    this.batcher.note(id, true, now);
  }

  /** Writes every noted use now. Never throws: a failed write is logged and retried next time. */
  flush(now: number = Date.now()): Promise<void> {
    return this.batcher.flush(now);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.batcher.stop();
    await this.batcher.flush();
  }

  onModuleDestroy(): void {
    this.batcher.stop();
  }
}
