import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-26T00:00:00Z), after AddKeyPolicies. */
export const ADD_CREDITS_TIMESTAMP = 1795651200000;

/** The escaped SQL names this migration touches on one connection. */
export interface CreditsNames {
  keys: string;
  refillAmount: string;
  refillIntervalMs: string;
  refilledAtMs: string;
}

/**
 * The third migration: credit refills (`refillAmount`, `refillIntervalMs`,
 * `refilledAtMs`) next to the balance AddKeyPolicies added (`remainingUses`).
 * Every column is nullable, so existing keys keep working unchanged. Names come
 * from the DataSource's naming strategy, as for CreateApiKeys.
 */
export abstract class AddCreditsMigration implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddCreditsMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddCredits${suffix}${ADD_CREDITS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    for (const column of [n.refilledAtMs, n.refillIntervalMs, n.refillAmount]) {
      await queryRunner.query(`ALTER TABLE ${n.keys} DROP COLUMN ${column}`);
    }
  }

  protected names(queryRunner: QueryRunner): CreditsNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => escape(namingStrategy.columnName(property, undefined, []));
    const keys = escape(namingStrategy.tableName(apiKeyEntityFor(this.tableName).name, this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      keys: schema ? `${escape(schema)}.${keys}` : keys,
      refillAmount: column('refillAmount'),
      refillIntervalMs: column('refillIntervalMs'),
      refilledAtMs: column('refilledAtMs'),
    };
  }
}
