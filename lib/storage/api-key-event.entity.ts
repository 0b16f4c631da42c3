import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from './api-key.entity.js';

/** What happened to a key. `*_use` events record refused requests, at most once per key per interval. */
export type ApiKeyEventType =
  | 'issued'
  | 'rotated'
  | 'revoked'
  | 'scopes_changed'
  | 'revoked_use'
  | 'expired_use'
  | 'exhausted_use'
  | 'reuse_detected'
  // Credits: a billing integration's changes to a key's balance.
  | 'credits_added'
  | 'credits_set'
  // Key controls:
  | 'disabled'
  | 'enabled'
  | 'updated'
  | 'disabled_use'
  // Lifecycle events (lib/events): a leak report and expiry notices.
  | 'leak_reported'
  | 'expiring'
  | 'expired'
  // The app's key format, recorded at boot for the operator CLI (lib/storage/key-format.record.ts); no key's.
  | 'key_format';

/**
 * One audit-log row. Written in the same transaction as the change it
 * records. Never holds a key, a hash or any other secret.
 */
export abstract class ApiKeyEventColumns {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  keyId!: string;

  /** The key's owner at the time, so events can be listed by owner. */
  @Index()
  @Column({ type: 'varchar', length: 255, nullable: true })
  ownerId!: string | null;

  @Column({ type: 'varchar', length: 32 })
  type!: ApiKeyEventType;

  /** Who did it, as the caller said (user id, "cli", "guard"...). */
  @Column({ type: 'varchar', length: 255, nullable: true })
  actor!: string | null;

  @Column({ type: Date, precision: 3 })
  at!: Date;

  /** Non-secret context: reason, scopes before/after, successor id... */
  @Column({ type: 'simple-json', nullable: true })
  details!: Record<string, unknown> | null;
}

/** The default audit table. */
export const DEFAULT_API_KEY_EVENTS_TABLE = 'api_key_events';

/** The events entity beside the default `api_keys` table. */
@Entity(DEFAULT_API_KEY_EVENTS_TABLE)
export class ApiKeyEventEntity extends ApiKeyEventColumns {}

const entities = new Map<string, typeof ApiKeyEventColumns>([[DEFAULT_API_KEY_TABLE, ApiKeyEventEntity]]);

/** The events entity for a key table: `<table>_events` (`api_key_events` for `api_keys`). */
export function apiKeyEventEntityFor(keyTable: string = DEFAULT_API_KEY_TABLE): typeof ApiKeyEventColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(`${keyTable}_events`)
    class NamedApiKeyEventEntity extends ApiKeyEventColumns {}
    Object.defineProperty(NamedApiKeyEventEntity, 'name', { value: `ApiKeyEventEntity_${keyTable}` });
    entity = NamedApiKeyEventEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}
