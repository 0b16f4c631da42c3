import type { QueryRunner } from 'typeorm';
import { AddCreditsMigration } from './credits-migration.js';

/** Adds credit refills on SQLite. */
export class AddCreditsSqlite1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refillAmount} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refillIntervalMs} bigint`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refilledAtMs} bigint`);
  }
}
