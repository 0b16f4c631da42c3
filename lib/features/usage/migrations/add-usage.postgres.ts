import type { QueryRunner } from 'typeorm';
import { AddUsageMigration } from './usage-migration.js';

/** Adds the per-key usage table on PostgreSQL. */
export class AddUsagePostgres1795824000000 extends AddUsageMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.usage} (${n.keyId} character varying(36) NOT NULL, ${n.hour} integer NOT NULL, ` +
        `${n.outcome} character varying(16) NOT NULL, ${n.count} integer NOT NULL, ` +
        `CONSTRAINT ${n.primaryKey} PRIMARY KEY (${n.keyId}, ${n.hour}, ${n.outcome}))`,
    );
  }
}
