import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyStore } from '../storage/api-key.store.js';
import type { ApiKeyDatabase } from '../storage/api-key.database.js';
import { insertApiKeyEvents } from '../storage/api-key-event.insert.js';

/**
 * Write-behind batching shared by the `lastUsedAt` and refused-use recorders:
 * `note` keeps one pending entry per id in memory (no I/O), at most once per
 * id per interval; a timer hands all pending entries to `write` in one call.
 * A failed write is retried with the next flush. Pure: no Nest, no TypeORM.
 */
export class IntervalBatcher<V> {
  private readonly pending = new Map<string, V>();
  private readonly writtenAt = new Map<string, number>();
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly intervalMs: number,
    private readonly write: (entries: ReadonlyMap<string, V>, now: number) => Promise<void>,
    private readonly onError: (error: unknown, count: number) => void,
  ) {}

  /** Notes an entry for `id` unless one was written less than an interval ago. O(1). */
  note(id: string, value: V, now: number = Date.now()): void {
    if (this.intervalMs === 0) return;
    const last = this.writtenAt.get(id);
    if (last !== undefined && now - last < this.intervalMs) return;
    if (!this.pending.has(id)) this.pending.set(id, value);
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Writes every pending entry now. Never throws. */
  async flush(now: number = Date.now()): Promise<void> {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    for (const id of batch.keys()) this.writtenAt.set(id, now);
    try {
      await this.write(batch, now);
    } catch (error) {
      this.onError(error, batch.size);
      for (const [id, value] of batch) {
        this.writtenAt.delete(id);
        if (!this.pending.has(id)) this.pending.set(id, value);
      }
    }
    for (const [id, at] of this.writtenAt) if (now - at >= this.intervalMs) this.writtenAt.delete(id);
  }

  /** Cancels the timer (pending entries stay until the next flush). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

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
