import { randomBytes } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { ApiKeyEventColumns, ApiKeyEventType } from './api-key-event.entity.js';

let lastMs = 0;
let sequence = 0;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit
 * sequence that keeps ids made in the same millisecond by this process in
 * order, then random bits. Sorting by id sorts by creation.
 */
export function timeOrderedId(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    lastMs += 1; // borrow the next millisecond rather than break the order
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
