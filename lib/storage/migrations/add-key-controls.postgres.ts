import type { QueryRunner } from 'typeorm';
import { AddKeyControlsMigration } from './key-controls-migration.js';

/** Adds disabling and IP allowlists on PostgreSQL (nullable columns: no table rewrite). */
export class AddKeyControlsPostgres1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.disabledAt} timestamp(3) without time zone`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.disabledReason} character varying(255)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.allowedIps} text`);
  }
}
