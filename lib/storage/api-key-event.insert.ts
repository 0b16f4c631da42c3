import type { EntityManager } from 'typeorm';
import type { ApiKeyEventColumns, ApiKeyEventType } from './api-key-event.entity.js';
import { timeOrderedId } from './time-ordered-id.js';

/** An event before it is written. */
export interface ApiKeyEventInput {
  keyId: string;
  ownerId: string | null;
  type: ApiKeyEventType;
  actor?: string | null;
  details?: Record<string, unknown> | null;
}

/**
 * Inserts events into the events table with `em` (a transaction's, or the
 * DataSource's manager), in one statement, with time-ordered ids. Shared by
 * the audit log (lifecycle changes) and the refused-use recorder (the request
 * path's write-behind).
 */
export async function insertApiKeyEvents(
  em: EntityManager,
  entity: typeof ApiKeyEventColumns,
  events: readonly ApiKeyEventInput[],
  now: number,
): Promise<void> {
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
  await em.insert(entity, rows as never);
}
