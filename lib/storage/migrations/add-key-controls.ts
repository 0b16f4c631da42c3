import { DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import { AddKeyColumnsMigration, type KeyColumnsNames, keyMigrationName } from './key-columns-migration.js';
import type { QueryRunner } from 'typeorm';

/** The timestamp TypeORM orders this migration by (2026-11-27T00:00:00Z), after AddCredits. */
export const ADD_KEY_CONTROLS_TIMESTAMP = 1795737600000;

const PROPERTIES = ['disabledAt', 'disabledReason', 'allowedIps'] as const;

/** The escaped SQL names this migration touches on one connection. */
export type KeyControlsNames = KeyColumnsNames<(typeof PROPERTIES)[number]>;

/**
 * The fourth migration: reversible disabling (`disabledAt`, `disabledReason`)
 * and per-key IP allowlists (`allowedIps`, JSON text). Every column is
 * nullable, so existing keys keep working unchanged.
 */
export abstract class AddKeyControlsMigration extends AddKeyColumnsMigration<(typeof PROPERTIES)[number]> {
  readonly name: string = AddKeyControlsMigration.nameFor(DEFAULT_API_KEY_TABLE);
  protected readonly properties = PROPERTIES;

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    return keyMigrationName('AddKeyControls', tableName, ADD_KEY_CONTROLS_TIMESTAMP);
  }
}

/** Adds disabling and IP allowlists on PostgreSQL (nullable columns: no table rewrite). */
export class AddKeyControlsPostgres1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.disabledAt} timestamp(3) without time zone`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.disabledReason} character varying(255)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.allowedIps} text`);
  }
}

/** Adds disabling and IP allowlists on MySQL / MariaDB, in one ALTER. */
export class AddKeyControlsMysql1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.disabledAt} datetime(3) NULL, ADD ${n.disabledReason} varchar(255) NULL, ADD ${n.allowedIps} text NULL`,
    );
  }
}

/** Adds disabling and IP allowlists on SQLite. */
export class AddKeyControlsSqlite1795737600000 extends AddKeyControlsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.disabledAt} datetime(3)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.disabledReason} varchar(255)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.allowedIps} text`);
  }
}
