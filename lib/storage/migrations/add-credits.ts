import { DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';
import { AddKeyColumnsMigration, type KeyColumnsNames, keyMigrationName } from './key-columns-migration.js';
import type { QueryRunner } from 'typeorm';

/** The timestamp TypeORM orders this migration by (2026-11-26T00:00:00Z), after AddKeyPolicies. */
export const ADD_CREDITS_TIMESTAMP = 1795651200000;

const PROPERTIES = ['refillAmount', 'refillIntervalMs', 'refilledAtMs'] as const;

/** The escaped SQL names this migration touches on one connection. */
export type CreditsNames = KeyColumnsNames<(typeof PROPERTIES)[number]>;

/**
 * The third migration: credit refills (`refillAmount`, `refillIntervalMs`,
 * `refilledAtMs`) next to the balance AddKeyPolicies added (`remainingUses`).
 * Every column is nullable, so existing keys keep working unchanged.
 */
export abstract class AddCreditsMigration extends AddKeyColumnsMigration<(typeof PROPERTIES)[number]> {
  readonly name: string = AddCreditsMigration.nameFor(DEFAULT_API_KEY_TABLE);
  protected readonly properties = PROPERTIES;

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    return keyMigrationName('AddCredits', tableName, ADD_CREDITS_TIMESTAMP);
  }
}

/** Adds credit refills on PostgreSQL. */
export class AddCreditsPostgres1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refillAmount} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refillIntervalMs} bigint`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.refilledAtMs} bigint`);
  }
}

/** Adds credit refills on MySQL / MariaDB, in one ALTER TABLE. */
export class AddCreditsMysql1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.refillAmount} int NULL, ADD ${n.refillIntervalMs} bigint NULL, ADD ${n.refilledAtMs} bigint NULL`,
    );
  }
}

/** Adds credit refills on SQLite. */
export class AddCreditsSqlite1795651200000 extends AddCreditsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refillAmount} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refillIntervalMs} bigint`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.refilledAtMs} bigint`);
  }
}
