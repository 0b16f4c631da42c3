import type { QueryRunner } from 'typeorm';
import { AddKeyPoliciesMigration } from './key-policies-migration.js';

/** Adds rotation families, use limits and the audit table on SQLite. */
export class AddKeyPoliciesSqlite1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.familyId} varchar(36)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.remainingUses} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.rateLimitMax} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.rateLimitWindowMs} integer`);
    await queryRunner.query(`CREATE INDEX ${n.familyIndex} ON ${n.keys} (${n.familyId})`);
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} varchar(36) PRIMARY KEY NOT NULL, ${e.keyId} varchar(36) NOT NULL, ` +
        `${e.ownerId} varchar(255), ${e.type} varchar(32) NOT NULL, ${e.actor} varchar(255), ${e.at} datetime(3) NOT NULL, ${e.details} text)`,
    );
    await queryRunner.query(`CREATE INDEX ${n.eventsKeyIndex} ON ${n.events} (${e.keyId})`);
    await queryRunner.query(`CREATE INDEX ${n.eventsOwnerIndex} ON ${n.events} (${e.ownerId})`);
  }
}
