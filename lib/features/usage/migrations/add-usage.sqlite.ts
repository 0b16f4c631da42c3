import type { QueryRunner } from 'typeorm';
import { AddUsageMigration } from './usage-migration.js';

/** Adds the per-key usage table on SQLite. */
export class AddUsageSqlite1795824000000 extends AddUsageMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.usage} (${n.keyId} varchar(36) NOT NULL, ${n.hour} integer NOT NULL, ${n.outcome} varchar(16) NOT NULL, ` +
        `${n.count} integer NOT NULL, PRIMARY KEY (${n.keyId}, ${n.hour}, ${n.outcome}))`,
    );
  }
}
