import type { QueryRunner } from 'typeorm';
import { CreateApiKeysMigration } from './api-key-migration.js';

/**
 * Creates the key table on SQLite (better-sqlite3 or sqlite3). SQLite types
 * are affinities: the `varchar(n)` columns are TEXT, lengths are checked by
 * the library, dates are stored as UTC text with milliseconds.
 */
export class CreateApiKeysSqlite1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) PRIMARY KEY NOT NULL, ` +
        `${c.name} varchar(100) NOT NULL, ` +
        `${c.ownerId} varchar(255), ` +
        `${c.hint} varchar(48) NOT NULL, ` +
        `${c.hash} varchar(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text, ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.expiresAt} datetime(3), ` +
        `${c.revokedAt} datetime(3), ` +
        `${c.revokedReason} varchar(255), ` +
        `${c.lastUsedAt} datetime(3), ` +
        `${c.replacedById} varchar(36))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX ${hashIndex} ON ${table} (${c.hash})`);
    await queryRunner.query(`CREATE INDEX ${ownerIndex} ON ${table} (${c.ownerId})`);
  }
}
