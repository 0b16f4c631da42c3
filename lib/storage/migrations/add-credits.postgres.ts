import type { QueryRunner } from 'typeorm';
import { AddCreditsMigration } from './credits-migration.js';

/** Adds credit refills on PostgreSQL. */
export class AddCreditsPostgres1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refillAmount} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refillIntervalMs} bigint`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refilledAtMs} bigint`);
  }
}
