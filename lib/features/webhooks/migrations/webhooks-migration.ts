import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  apiKeyWebhookDeliveryEntityFor,
  webhookDeliveriesTableFor,
  type ApiKeyWebhookDeliveryColumns,
} from '../api-key-webhook-delivery.entity.js';
import { DEFAULT_API_KEY_TABLE } from '../../../storage/api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-27T00:00:00Z), after AddUsage. */
export const ADD_WEBHOOKS_TIMESTAMP = 1795910400000;

/** The entity's properties, in column order. */
const PROPERTIES = [
  'id',
  'endpointUrl',
  'eventType',
  'keyId',
  'payload',
  'status',
  'attempts',
  'lastStatusCode',
  'lastError',
  'nextAttemptAt',
  'deliveredAt',
  'createdAt',
  'claimedBy',
  'claimedUntil',
] as const satisfies readonly (keyof ApiKeyWebhookDeliveryColumns)[];

/** The escaped SQL names of the delivery table on one connection. */
export interface WebhookDeliveryNames {
  table: string;
  column: Record<(typeof PROPERTIES)[number], string>;
  primaryKey: string;
  /** The index on `keyId`. */
  keyIndex: string;
  /** The index on `(status, nextAttemptAt)`: the dispatcher's poll. */
  dueIndex: string;
}

/** The sixth migration: the webhook delivery table (`<table>_webhook_deliveries`). */
export abstract class AddWebhooksMigration implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddWebhooksMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddWebhooks${suffix}${ADD_WEBHOOKS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).table}`);
  }

  protected names(queryRunner: QueryRunner): WebhookDeliveryNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const raw = Object.fromEntries(
      PROPERTIES.map((property) => [property, namingStrategy.columnName(property, undefined, [])]),
    ) as Record<(typeof PROPERTIES)[number], string>;
    const table = namingStrategy.tableName(
      apiKeyWebhookDeliveryEntityFor(this.tableName).name,
      webhookDeliveriesTableFor(this.tableName),
    );
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      table: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      column: Object.fromEntries(
        PROPERTIES.map((property) => [property, escape(raw[property])]),
      ) as WebhookDeliveryNames['column'],
      primaryKey: escape(namingStrategy.primaryKeyName(table, [raw.id])),
      keyIndex: escape(namingStrategy.indexName(table, [raw.keyId])),
      dueIndex: escape(namingStrategy.indexName(table, [raw.status, raw.nextAttemptAt])),
    };
  }
}
