import type { QueryRunner } from 'typeorm';
import { AddKeyPoliciesMigration } from './key-policies-migration.js';

/** Adds rotation families, use limits and the audit table on MySQL / MariaDB (exact `utf8mb4_bin` comparisons, as CreateApiKeys). */
export class AddKeyPoliciesMysql1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.familyId} varchar(36) NULL, ADD ${n.remainingUses} int NULL, ADD ${n.rateLimitMax} int NULL, ADD ${n.rateLimitWindowMs} int NULL, ADD INDEX ${n.familyIndex} (${n.familyId})`,
    );
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} varchar(36) NOT NULL, ${e.keyId} varchar(36) NOT NULL, ${e.ownerId} varchar(255) NULL, ` +
        `${e.type} varchar(32) NOT NULL, ${e.actor} varchar(255) NULL, ${e.at} datetime(3) NOT NULL, ${e.details} text NULL, ` +
        `INDEX ${n.eventsKeyIndex} (${e.keyId}), INDEX ${n.eventsOwnerIndex} (${e.ownerId}), PRIMARY KEY (${e.id})` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}
