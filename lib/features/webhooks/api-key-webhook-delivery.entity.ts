import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../storage/api-key.entity.js';

/** Where a webhook delivery stands: waiting (or retrying), received with a 2xx, or given up after the last attempt. */
export type ApiKeyWebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/**
 * One webhook delivery: one lifecycle event for one endpoint (the outbox row
 * and its log). Written in the same transaction as the change it announces.
 * Its `id` is the `webhook-id` header, the same on every attempt, so
 * receivers can drop duplicates. Never holds a key, a hash or a signing secret.
 */
@Index(['status', 'nextAttemptAt'])
export abstract class ApiKeyWebhookDeliveryColumns {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The endpoint's URL, as configured (the secret is looked up by it at send time). */
  @Column({ type: 'varchar', length: 1024 })
  endpointUrl!: string;

  /** The lifecycle event type, e.g. `revoked`. */
  @Column({ type: 'varchar', length: 32 })
  eventType!: string;

  @Index()
  @Column({ type: 'varchar', length: 36 })
  keyId!: string;

  /** The exact JSON body sent on every attempt. */
  @Column({ type: 'text' })
  payload!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: ApiKeyWebhookDeliveryStatus;

  /** Attempts started (counted when an instance claims the row). */
  @Column({ type: 'integer' })
  attempts!: number;

  /** The HTTP status of the last answer, or `null` (none yet, or no answer). */
  @Column({ type: 'integer', nullable: true })
  lastStatusCode!: number | null;

  /** Why the last attempt failed (truncated), or `null`. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  lastError!: string | null;

  /** When the next attempt is due (pending rows). */
  @Column({ type: Date, precision: 3 })
  nextAttemptAt!: Date;

  @Column({ type: Date, precision: 3, nullable: true })
  deliveredAt!: Date | null;

  @Column({ type: Date, precision: 3 })
  createdAt!: Date;

  /** The claim of the attempt under way: a random token of the instance sending it... */
  @Column({ type: 'varchar', length: 36, nullable: true })
  claimedBy!: string | null;

  /** ...until when it holds (a crashed sender's claim lapses then). */
  @Column({ type: Date, precision: 3, nullable: true })
  claimedUntil!: Date | null;
}

/** The injection token of the delivery entity class of a setup's key table. */
export const API_KEY_WEBHOOK_ENTITY = Symbol('nestjs-opaque-keys:webhook-entity');

/** The default webhook delivery table. */
export const DEFAULT_API_KEY_WEBHOOK_DELIVERIES_TABLE = 'api_key_webhook_deliveries';

/** The delivery entity beside the default `api_keys` table. */
@Entity(DEFAULT_API_KEY_WEBHOOK_DELIVERIES_TABLE)
export class ApiKeyWebhookDeliveryEntity extends ApiKeyWebhookDeliveryColumns {}

const entities = new Map<string, typeof ApiKeyWebhookDeliveryColumns>([
  [DEFAULT_API_KEY_TABLE, ApiKeyWebhookDeliveryEntity],
]);

/** The delivery table's name for a key table: `<table>_webhook_deliveries` (`api_key_webhook_deliveries` for `api_keys`). */
export function webhookDeliveriesTableFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return keyTable === DEFAULT_API_KEY_TABLE
    ? DEFAULT_API_KEY_WEBHOOK_DELIVERIES_TABLE
    : `${keyTable}_webhook_deliveries`;
}

/** The webhooks feature's entities on one key table, for a DataSource's `entities` without `autoLoadEntities`. */
export function webhookEntities(keyTable: string = DEFAULT_API_KEY_TABLE): (typeof ApiKeyWebhookDeliveryColumns)[] {
  return [apiKeyWebhookDeliveryEntityFor(keyTable)];
}

/** The webhook delivery entity for a key table. */
export function apiKeyWebhookDeliveryEntityFor(
  keyTable: string = DEFAULT_API_KEY_TABLE,
): typeof ApiKeyWebhookDeliveryColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(webhookDeliveriesTableFor(keyTable))
    class NamedApiKeyWebhookDeliveryEntity extends ApiKeyWebhookDeliveryColumns {}
    Object.defineProperty(NamedApiKeyWebhookDeliveryEntity, 'name', {
      value: `ApiKeyWebhookDeliveryEntity_${keyTable}`,
    });
    entity = NamedApiKeyWebhookDeliveryEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}
