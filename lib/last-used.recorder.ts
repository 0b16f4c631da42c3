import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_STORE } from './api-key.constants.js';
import { ResolvedApiKeyOptions } from './api-key.options.js';
import type { ApiKeyStore } from './api-key.store.js';

/**
 * Write-behind recorder of `lastUsedAt`: the request path only notes the key
 * id in memory; a timer writes all noted ids in one UPDATE per interval, and
 * a key is written at most once per interval. Flushed on shutdown.
 */
@Injectable()
export class LastUsedRecorder implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyLastUsed');
  private readonly pending = new Set<string>();
  private readonly writtenAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_STORE) private readonly store: ApiKeyStore,
  ) {}

  /** Notes a use of the key. O(1), no I/O. */
  touch(id: string, now: number = Date.now()): void {
    const interval = this.options.lastUsedIntervalMs;
    if (interval === 0) return;
    const last = this.writtenAt.get(id);
    if (last !== undefined && now - last < interval) return;
    this.pending.add(id);
    this.timer ??= setTimeout(() => void this.flush(), interval).unref();
  }

  /** Writes every noted use now. Never throws: a failed write is logged and retried next time. */
  async flush(now: number = Date.now()): Promise<void> {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const ids = [...this.pending];
    this.pending.clear();
    for (const id of ids) this.writtenAt.set(id, now);
    try {
      await this.store.markUsed(ids, new Date(now));
    } catch (error) {
      this.logger.warn(`could not record lastUsedAt of ${ids.length} key(s): ${(error as Error).message}`);
      for (const id of ids) {
        this.writtenAt.delete(id);
        this.pending.add(id);
      }
    }
    for (const [id, at] of this.writtenAt) if (now - at >= this.options.lastUsedIntervalMs) this.writtenAt.delete(id);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
