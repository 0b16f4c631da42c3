import type { QueryRunner } from 'typeorm';
import { AddKeyControlsMigration } from './key-controls-migration.js';

/** Adds disabling and IP allowlists on SQLite. */
export class AddKeyControlsSqlite1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.disabledAt} datetime(3)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.disabledReason} varchar(255)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.allowedIps} text`);
  }
}
