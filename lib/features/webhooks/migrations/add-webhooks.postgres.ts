import type { QueryRunner } from 'typeorm';
import { AddWebhooksMigration } from './webhooks-migration.js';

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
