import type { QueryRunner } from 'typeorm';
import { AddCreditsMigration } from './credits-migration.js';

/** Adds credit refills on MySQL / MariaDB, in one ALTER TABLE. */
export class AddCreditsMysql1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.refillAmount} int NULL, ADD ${n.refillIntervalMs} bigint NULL, ADD ${n.refilledAtMs} bigint NULL`,
    );
  }
}
