import type { QueryRunner } from 'typeorm';
import { AddWebhooksMigration } from './webhooks-migration.js';

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
