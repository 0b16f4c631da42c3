import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager, FindOptionsWhere } from 'typeorm';
import { API_KEY_EVENT_ENTITY } from '../api-key.constants.js';
import type { ApiKeyEventColumns } from '../storage/api-key-event.entity.js';
import { validateEventsQuery } from '../policies/api-key.input.js';
import { ApiKeyEventPublisher } from '../features/events/api-key-event.publisher.js';
import { insertApiKeyEvents, type ApiKeyEventInput } from '../storage/api-key-event.insert.js';
import { ApiKeyUnitOfWork } from '../storage/api-key.unit-of-work.js';

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
 * The audit log (`api_key_events`) of lifecycle changes: the service writes a
 * change's events in the same transaction as the change, and lists them.
 * It writes events (announced after commit by `ApiKeyEventPublisher`); the cache is invalidated by the change itself, and
 * refused uses on the request path are written by `RefusedUseRecorder`.
 */
@Injectable()
export class ApiKeyAuditLog {
  constructor(
    private readonly unitOfWork: ApiKeyUnitOfWork,
    @Inject(API_KEY_EVENT_ENTITY) private readonly entity: typeof ApiKeyEventColumns,
    private readonly events: ApiKeyEventPublisher,
  ) {}

  /**
   * Writes events with `em` (the caller's transaction), and has them
   * announced as lifecycle events once that transaction commits (never if it
   * rolls back): a change that writes its audit events announces them too.
   */
  async write(em: EntityManager, events: ApiKeyEventInput[], now: number = Date.now()): Promise<void> {
    await insertApiKeyEvents(em, this.entity, events, now);
    await this.events.afterCommit(em, events, now);
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
}
