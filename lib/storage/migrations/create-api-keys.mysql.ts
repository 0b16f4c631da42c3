import type { QueryRunner } from 'typeorm';
import { CreateApiKeysMigration } from './api-key-migration.js';

/**
 * Creates the key table on MySQL / MariaDB (tested on MariaDB 10.11). InnoDB
 * for transactions and row locks. The table's collation is `utf8mb4_bin`, not
 * the server default (usually case-insensitive): `ownerId` filters and the
 * hash index then compare exactly, as on SQLite and PostgreSQL, so owner
 * `Team-1` never sees the keys of `team-1`, and comparisons skip collation work.
 */
export class CreateApiKeysMysql1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    // No primary key name: MySQL names every primary key PRIMARY.
    const { table, column: c, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) NOT NULL, ` +
        `${c.name} varchar(100) NOT NULL, ` +
        `${c.ownerId} varchar(255) NULL, ` +
        `${c.hint} varchar(48) NOT NULL, ` +
        `${c.hash} varchar(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text NULL, ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.expiresAt} datetime(3) NULL, ` +
        `${c.revokedAt} datetime(3) NULL, ` +
        `${c.revokedReason} varchar(255) NULL, ` +
        `${c.lastUsedAt} datetime(3) NULL, ` +
        `${c.replacedById} varchar(36) NULL, ` +
        `INDEX ${ownerIndex} (${c.ownerId}), ` +
        `UNIQUE INDEX ${hashIndex} (${c.hash}), ` +
        `PRIMARY KEY (${c.id})` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}
