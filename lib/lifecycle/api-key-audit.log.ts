import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { EntityManager, FindOptionsWhere } from 'typeorm';
import { API_KEY_EVENT_ENTITY, API_KEY_HOOKS } from '../api-key.constants.js';
import type { ApiKeyHooks } from '../module/api-key-feature.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { validateEventsQuery } from '../policies/api-key.input.js';
import { insertApiKeyEvents, type ApiKeyEventInput } from '../storage/api-key-event.insert.js';
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';
import { isLifecycleEventType, type ApiKeyLifecycleEvent } from './api-key-lifecycle.event.js';
import type { ApiKeyChangeHook } from './change-hook.js';

export type { ApiKeyEventInput } from '../storage/api-key-event.insert.js';

/** Query of `ApiKeyService.listEvents`: by key, by owner, or both. */
export interface ListApiKeyEventsQuery {
  keyId?: string;
  ownerId?: string;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  offset?: number;
}

/**
 * The audit log (`api_key_events`) of lifecycle changes: every change writes its events here, in its own
 * transaction, and this is where the features' change hooks hear of them (`duringChange` in the
 * transaction, `afterCommit` once it committed). Refused uses on the request path are written by
 * `RefusedUseRecorder`, and announce nothing.
 */
@Injectable()
export class ApiKeyAuditLog {
  private readonly logger = new Logger('ApiKeyEvents');
  private readonly hooks: readonly ApiKeyChangeHook[];

  constructor(
    private readonly unitOfWork: ApiKeyUnitOfWork,
    @Inject(API_KEY_EVENT_ENTITY) private readonly entity: typeof ApiKeyEventColumns,
    @Optional() @Inject(API_KEY_HOOKS) hooks?: ApiKeyHooks,
  ) {
    this.hooks = hooks?.change ?? [];
  }

  /**
   * Writes events with `em` (the caller's transaction), runs the change hooks in it, and has the events
   * announced once that transaction commits (never if it rolls back).
   */
  async write(em: EntityManager, events: ApiKeyEventInput[], now: number = Date.now()): Promise<void> {
    await insertApiKeyEvents(em, this.entity, events, now);
    if (this.hooks.length === 0) return;
    const announced = events.filter((event) => isLifecycleEventType(event.type)).map((e) => lifecycleEvent(e, now));
    if (announced.length === 0) return;
    for (const hook of this.hooks) await hook.duringChange?.(em, announced);
    this.unitOfWork.afterCommit(em, () => this.afterCommit(announced));
  }

  /**
   * Announces events whose rows were committed by other means (an expiry notice claims its row with its own
   * INSERT): the hooks' `duringChange` in a transaction of its own, then `afterCommit`.
   * @throws ApiKeyStoreUnavailableError when that transaction fails (nothing is announced then)
   */
  async announce(events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    if (events.length === 0 || this.hooks.length === 0) return;
    await this.unitOfWork.run(async (em) => {
      for (const hook of this.hooks) await hook.duringChange?.(em, events);
      this.unitOfWork.afterCommit(em, () => this.afterCommit(events));
    }, true);
  }

  /**
   * Events of a key and/or an owner, newest first; read on the primary under
   * replication, so the trail read right after a change shows it.
   */
  async list(query: ListApiKeyEventsQuery): Promise<{ items: ApiKeyEventColumns[]; total: number }> {
    const { limit, offset } = validateEventsQuery(query);
    const where: FindOptionsWhere<ApiKeyEventColumns> = {};
    if (query.keyId !== undefined) where.keyId = query.keyId;
    if (query.ownerId !== undefined) where.ownerId = query.ownerId;
    const [items, total] = await this.unitOfWork.run((em) =>
      Promise.all([
        em.find(this.entity, { where, order: { at: 'DESC', id: 'DESC' }, take: limit, skip: offset }),
        em.count(this.entity, { where }),
      ]),
    );
    return { items, total };
  }

  /** Each hook's `afterCommit`; one that throws is logged and never reaches the change nor the next hook. */
  private afterCommit(events: readonly ApiKeyLifecycleEvent[]): void {
    for (const hook of this.hooks) {
      try {
        hook.afterCommit?.(events);
      } catch (error) {
        this.logger.error(`a change hook failed after commit: ${(error as Error).message}`);
      }
    }
  }
}

/** The announced form of an audit event. */
function lifecycleEvent(event: ApiKeyEventInput, now: number): ApiKeyLifecycleEvent {
  return Object.freeze({
    type: event.type as ApiKeyLifecycleEvent['type'],
    keyId: event.keyId,
    ownerId: event.ownerId,
    actor: event.actor ?? null,
    at: new Date(now),
    details: event.details ? Object.freeze({ ...event.details }) : null,
  });
}
