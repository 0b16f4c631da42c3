import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { API_KEY_DATA_SOURCE, API_KEY_EVENT_ENTITY, API_KEY_OPTIONS } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { insertApiKeyEvents } from '../storage/api-key-event.insert.js';
import { IntervalBatcher } from './interval-batcher.js';

/** A refused use of a known key: revoked, expired, or out of uses. */
export type RefusedUseType = 'revoked_use' | 'expired_use' | 'exhausted_use' | 'disabled_use';

type RefusedUse = { ownerId: string | null; type: RefusedUseType };

/**
 * Write-behind recorder of refused uses of revoked, disabled, expired or exhausted keys
 * (events `revoked_use`, `expired_use`, `exhausted_use`, actor `guard`): the
 * request path only notes the key in memory; a timer writes the noted events
 * in one INSERT per interval (`auditUseIntervalMs`), at most one per key per
 * interval, so an attack with an old key cannot amplify into writes. Flushed
 * on shutdown. The read path's own writer: it needs neither the audit log nor
 * the cache.
 */
@Injectable()
export class RefusedUseRecorder implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyAuditLog');
  private readonly batcher: IntervalBatcher<RefusedUse>;

  constructor(
    @Inject(API_KEY_OPTIONS) options: ResolvedApiKeyOptions,
    @Inject(API_KEY_DATA_SOURCE) dataSource: DataSource,
    @Inject(API_KEY_EVENT_ENTITY) entity: typeof ApiKeyEventColumns,
  ) {
    this.batcher = new IntervalBatcher<RefusedUse>(
      options.auditUseIntervalMs,
      (entries, now) =>
        insertApiKeyEvents(
          dataSource.manager,
          entity,
          [...entries].map(([keyId, use]) => ({ keyId, ...use, actor: 'guard' })),
          now,
        ),
      (error, count) => this.logger.warn(`could not write ${count} refused-use event(s): ${(error as Error).message}`),
    );
  }

  /** Notes a refused use of a known key. O(1), no I/O. */
  note(keyId: string, ownerId: string | null, type: RefusedUseType, now: number = Date.now()): void {
    this.batcher.note(keyId, { ownerId, type }, now);
  }

  /** Writes every noted refusal now. Never throws: a failed write is logged and retried next time. */
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
