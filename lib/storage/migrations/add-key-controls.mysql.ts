import type { QueryRunner } from 'typeorm';
import { AddKeyControlsMigration } from './key-controls-migration.js';

/** Adds disabling and IP allowlists on MySQL / MariaDB, in one ALTER. */
export class AddKeyControlsMysql1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.disabledAt} datetime(3) NULL, ADD ${n.disabledReason} varchar(255) NULL, ADD ${n.allowedIps} text NULL`,
    );
  }
}
