import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import type { DataSource, EntityManager, FindOptionsWhere } from 'typeorm';
import { API_KEY_DATA_SOURCE, API_KEY_EVENT_ENTITY, API_KEY_OPTIONS } from '../api-key.constants.js';
import type { ApiKeyEventColumns, ApiKeyEventType } from '../storage/api-key-event.entity.js';
import { ApiKeyStoreUnavailableError, ApiKeyValidationError } from '../api-key.errors.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyInvalidation } from '../cache/invalidation-bus.js';
import { IntervalBatcher } from '../verification/interval-batcher.js';
import { timeOrderedId } from '../storage/time-ordered-id.js';

/** An event before it is written. */
export interface ApiKeyEventInput {
  keyId: string;
  ownerId: string | null;
  type: ApiKeyEventType;
  actor?: string | null;
  details?: Record<string, unknown> | null;
}

/** Query of {@link ApiKeyAuditLog.list}: by key, by owner, or both. */
export interface ListApiKeyEventsQuery {
  keyId?: string;
  ownerId?: string;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  offset?: number;
}

type RefusedUse = { ownerId: string | null; type: ApiKeyEventType };

/** Events that change no cached row: a new key (unknown keys are never cached) and refused uses. */
const UNCHANGING: ReadonlySet<ApiKeyEventType> = new Set([
  'issued',
  'revoked_use',
  'expired_use',
  'exhausted_use',
  'disabled_use',
]);

/**
 * The cached rows an event batch makes stale: its keys, or every row when a
 * whole rotation family was revoked (the event names one key of the family).
 */
function invalidationOf(events: readonly ApiKeyEventInput[]): ApiKeyInvalidation | undefined {
  if (events.some((event) => event.type === 'reuse_detected')) return { all: true };
  const ids = events.filter((event) => !UNCHANGING.has(event.type)).map((event) => event.keyId);
  return ids.length > 0 ? { ids } : undefined;
}

/**
 * The audit log (`api_key_events`). Lifecycle changes are written by the
 * service in the same transaction as the change; refused uses of revoked,
 * expired or exhausted keys are batched, at most one per key per interval, so
 * an attack with an old key cannot amplify into writes.
 */
@Injectable()
export class ApiKeyAuditLog implements BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyAuditLog');
  private readonly refused: IntervalBatcher<RefusedUse>;

  constructor(
    @Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(API_KEY_EVENT_ENTITY) private readonly entity: typeof ApiKeyEventColumns,
    @Inject(API_KEY_OPTIONS) options: ResolvedApiKeyOptions,
    @Optional() private readonly cache?: ApiKeyCacheInvalidator,
  ) {
    this.refused = new IntervalBatcher<RefusedUse>(
      options.auditUseIntervalMs,
      (entries, now) =>
        this.write(
          this.dataSource.manager,
          [...entries].map(([keyId, use]) => ({ keyId, ...use, actor: 'guard' })),
          now,
        ),
      (error, count) => this.logger.warn(`could not write ${count} refused-use event(s): ${(error as Error).message}`),
    );
  }

  /**
   * Writes events with `em` (the caller's transaction). Every change to a key
   * writes its event here, so this is also where the lookup cache (the
   * `cache` option) learns of the change: the keys' cached rows are
   * invalidated when the transaction ends, on every instance.
   */
  async write(em: EntityManager, events: ApiKeyEventInput[], now: number = Date.now()): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({
      id: timeOrderedId(now),
      keyId: event.keyId,
      ownerId: event.ownerId,
      type: event.type,
      actor: event.actor?.slice(0, 255) ?? null,
      at: new Date(now),
      details: event.details ?? null,
    }));
    await em.insert(this.entity, rows as never);
    const change = this.cache && invalidationOf(events);
    if (change) await this.cache!.changed(em, change);
  }

  /** Notes a refused use of a known key (no I/O now; batched). */
  noteRefusedUse(
    keyId: string,
    ownerId: string | null,
    type: 'revoked_use' | 'expired_use' | 'exhausted_use' | 'disabled_use',
  ): void {
    this.refused.note(keyId, { ownerId, type });
  }

  /** Writes pending refused-use events now. */
  flush(): Promise<void> {
    return this.refused.flush();
  }

  /** Events of a key and/or an owner, newest first. */
  async list(query: ListApiKeyEventsQuery): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new ApiKeyValidationError('limit must be an integer from 1 to 100');
    if (!Number.isInteger(offset) || offset < 0)
      throw new ApiKeyValidationError('offset must be a non-negative integer');
    if (query.keyId === undefined && query.ownerId === undefined)
      throw new ApiKeyValidationError('give keyId or ownerId');
    const where: FindOptionsWhere<ApiKeyEventColumns> = {};
    if (query.keyId !== undefined) where.keyId = query.keyId;
    if (query.ownerId !== undefined) where.ownerId = query.ownerId;
    try {
      const [items, total] = await Promise.all([
        this.dataSource.manager.find(this.entity, {
          where,
          order: { at: 'DESC', id: 'DESC' },
          take: limit,
          skip: offset,
        }),
        this.dataSource.manager.count(this.entity, { where }),
      ]);
      return { items, total };
    } catch (cause) {
      throw new ApiKeyStoreUnavailableError({ cause });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.refused.stop();
    await this.refused.flush();
  }

  onModuleDestroy(): void {
    this.refused.stop();
  }
}
