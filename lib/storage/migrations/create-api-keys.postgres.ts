import type { QueryRunner } from 'typeorm';
import { CreateApiKeysMigration } from './api-key-migration.js';

/**
 * Creates the key table on PostgreSQL (tested on 15). `varchar(64)` rather
 * than `char(64)` for the hash: PostgreSQL stores both alike and `char` only
 * adds padding work. Timestamps are `timestamp(3)`, the type TypeORM maps
 * the entity's `Date` columns to (values in the app's time zone).
 */
export class CreateApiKeysPostgres1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, primaryKey, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} character varying(36) NOT NULL, ` +
        `${c.name} character varying(100) NOT NULL, ` +
        `${c.ownerId} character varying(255), ` +
        `${c.hint} character varying(48) NOT NULL, ` +
        `${c.hash} character varying(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text, ` +
        `${c.createdAt} timestamp(3) without time zone NOT NULL, ` +
        `${c.expiresAt} timestamp(3) without time zone, ` +
        `${c.revokedAt} timestamp(3) without time zone, ` +
        `${c.revokedReason} character varying(255), ` +
        `${c.lastUsedAt} timestamp(3) without time zone, ` +
        `${c.replacedById} character varying(36), ` +
        `CONSTRAINT ${primaryKey} PRIMARY KEY (${c.id}))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX ${hashIndex} ON ${table} (${c.hash})`);
    await queryRunner.query(`CREATE INDEX ${ownerIndex} ON ${table} (${c.ownerId})`);
  }
}
