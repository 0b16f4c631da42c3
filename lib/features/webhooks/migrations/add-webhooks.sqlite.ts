import type { QueryRunner } from 'typeorm';
import { AddWebhooksMigration } from './webhooks-migration.js';

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
