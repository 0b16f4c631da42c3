import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-26T00:00:00Z), after AddKeyPolicies. */
export const ADD_KEY_CONTROLS_TIMESTAMP = 1795737600000;

/** The escaped SQL names this migration touches on one connection. */
export interface KeyControlsNames {
  keys: string;
  disabledAt: string;
  disabledReason: string;
  allowedIps: string;
}

/**
 * The third migration: reversible disabling (`disabledAt`, `disabledReason`)
 * and per-key IP allowlists (`allowedIps`, JSON text). Names come from the
 * DataSource's naming strategy, as for CreateApiKeys.
 */
export abstract class AddKeyControlsMigration implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddKeyControlsMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddKeyControls${suffix}${ADD_KEY_CONTROLS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    for (const column of [n.allowedIps, n.disabledReason, n.disabledAt]) {
      await queryRunner.query(`ALTER TABLE ${n.keys} DROP COLUMN ${column}`);
    }
  }

  protected names(queryRunner: QueryRunner): KeyControlsNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => escape(namingStrategy.columnName(property, undefined, []));
    const keys = escape(namingStrategy.tableName(apiKeyEntityFor(this.tableName).name, this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      keys: schema ? `${escape(schema)}.${keys}` : keys,
      disabledAt: column('disabledAt'),
      disabledReason: column('disabledReason'),
      allowedIps: column('allowedIps'),
    };
  }
}
