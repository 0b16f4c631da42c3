import type { MigrationInterface, QueryRunner } from 'typeorm';
import {
  type ApiKeyWebhookDeliveryColumns,
  apiKeyWebhookDeliveryEntityFor,
  webhookDeliveriesTableFor,
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

/** Adds the webhook delivery table on PostgreSQL. */
export class AddWebhooksPostgres1795910400000 extends AddWebhooksMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, primaryKey, keyIndex, dueIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} character varying(36) NOT NULL, ` +
        `${c.endpointUrl} character varying(1024) NOT NULL, ` +
        `${c.eventType} character varying(32) NOT NULL, ` +
        `${c.keyId} character varying(36) NOT NULL, ` +
        `${c.payload} text NOT NULL, ` +
        `${c.status} character varying(16) NOT NULL, ` +
        `${c.attempts} integer NOT NULL, ` +
        `${c.lastStatusCode} integer, ` +
        `${c.lastError} character varying(255), ` +
        `${c.nextAttemptAt} timestamp(3) without time zone NOT NULL, ` +
        `${c.deliveredAt} timestamp(3) without time zone, ` +
        `${c.createdAt} timestamp(3) without time zone NOT NULL, ` +
        `${c.claimedBy} character varying(36), ` +
        `${c.claimedUntil} timestamp(3) without time zone, ` +
        `CONSTRAINT ${primaryKey} PRIMARY KEY (${c.id}))`,
    );
    await queryRunner.query(`CREATE INDEX ${keyIndex} ON ${table} (${c.keyId})`);
    await queryRunner.query(`CREATE INDEX ${dueIndex} ON ${table} (${c.status}, ${c.nextAttemptAt})`);
  }
}

/** Adds the webhook delivery table on MySQL / MariaDB (InnoDB, `utf8mb4_bin` as the key table). */
export class AddWebhooksMysql1795910400000 extends AddWebhooksMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, keyIndex, dueIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) NOT NULL, ` +
        `${c.endpointUrl} varchar(1024) NOT NULL, ` +
        `${c.eventType} varchar(32) NOT NULL, ` +
        `${c.keyId} varchar(36) NOT NULL, ` +
        `${c.payload} text NOT NULL, ` +
        `${c.status} varchar(16) NOT NULL, ` +
        `${c.attempts} int NOT NULL, ` +
        `${c.lastStatusCode} int NULL, ` +
        `${c.lastError} varchar(255) NULL, ` +
        `${c.nextAttemptAt} datetime(3) NOT NULL, ` +
        `${c.deliveredAt} datetime(3) NULL, ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.claimedBy} varchar(36) NULL, ` +
        `${c.claimedUntil} datetime(3) NULL, ` +
        `INDEX ${keyIndex} (${c.keyId}), ` +
        `INDEX ${dueIndex} (${c.status}, ${c.nextAttemptAt}), ` +
        `PRIMARY KEY (${c.id})` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/** Adds the webhook delivery table on SQLite. */
export class AddWebhooksSqlite1795910400000 extends AddWebhooksMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, keyIndex, dueIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) PRIMARY KEY NOT NULL, ` +
        `${c.endpointUrl} varchar(1024) NOT NULL, ` +
        `${c.eventType} varchar(32) NOT NULL, ` +
        `${c.keyId} varchar(36) NOT NULL, ` +
        `${c.payload} text NOT NULL, ` +
        `${c.status} varchar(16) NOT NULL, ` +
        `${c.attempts} integer NOT NULL, ` +
        `${c.lastStatusCode} integer, ` +
        `${c.lastError} varchar(255), ` +
        `${c.nextAttemptAt} datetime(3) NOT NULL, ` +
        `${c.deliveredAt} datetime(3), ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.claimedBy} varchar(36), ` +
        `${c.claimedUntil} datetime(3))`,
    );
    await queryRunner.query(`CREATE INDEX ${keyIndex} ON ${table} (${c.keyId})`);
    await queryRunner.query(`CREATE INDEX ${dueIndex} ON ${table} (${c.status}, ${c.nextAttemptAt})`);
  }
}
