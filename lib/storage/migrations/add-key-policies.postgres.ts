import type { QueryRunner } from 'typeorm';
import { AddKeyPoliciesMigration } from './key-policies-migration.js';

/** Adds rotation families, use limits and the audit table on PostgreSQL. */
export class AddKeyPoliciesPostgres1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.familyId} character varying(36)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.remainingUses} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.rateLimitMax} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.rateLimitWindowMs} integer`);
    await queryRunner.query(`CREATE INDEX ${n.familyIndex} ON ${n.keys} (${n.familyId})`);
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} character varying(36) NOT NULL, ${e.keyId} character varying(36) NOT NULL, ` +
        `${e.ownerId} character varying(255), ${e.type} character varying(32) NOT NULL, ${e.actor} character varying(255), ` +
        `${e.at} timestamp(3) without time zone NOT NULL, ${e.details} text, CONSTRAINT ${n.eventsPrimaryKey} PRIMARY KEY (${e.id}))`,
    );
    await queryRunner.query(`CREATE INDEX ${n.eventsKeyIndex} ON ${n.events} (${e.keyId})`);
    await queryRunner.query(`CREATE INDEX ${n.eventsOwnerIndex} ON ${n.events} (${e.ownerId})`);
  }
}
