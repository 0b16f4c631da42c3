import { Logger } from '@nestjs/common';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyDatabase } from '../storage/api-key.database.js';
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
 * on shutdown (by the verifier, which owns it). The read path's own writer: it
 * needs neither the change unit nor the cache.
 */
export class RefusedUseRecorder {
  private readonly logger = new Logger('ApiKeyAuditLog');
  private readonly batcher: IntervalBatcher<RefusedUse>;

  constructor(options: ResolvedApiKeyOptions, db: ApiKeyDatabase) {
    this.batcher = new IntervalBatcher<RefusedUse>(
      options.auditUseIntervalMs,
      (entries, now) =>
        insertApiKeyEvents(
          db.dataSource.manager,
          db.events,
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

  /** Stops the timer and writes what is noted (on shutdown). */
  async close(): Promise<void> {
    this.batcher.stop();
    await this.batcher.flush();
  }

  /** Stops the timer. */
  stop(): void {
    this.batcher.stop();
  }
}
