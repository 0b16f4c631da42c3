import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';

/** The escaped SQL names of a column migration: the key table (`keys`) and each added column, by entity property. */
export type KeyColumnsNames<P extends string> = { keys: string } & Record<P, string>;

/**
 * A migration that adds nullable columns to the key table, one subclass per
 * database (whose `up` writes the column types); `down` drops them in reverse
 * order. Names come from the DataSource's naming strategy, as for
 * CreateApiKeys, so the schema diff finds nothing to do afterwards.
 */
export abstract class AddKeyColumnsMigration<P extends string> implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  /** The name TypeORM records: the same on every database, one per table. */
  abstract readonly name: string;
  /** The entity properties this migration adds, in the order `up` adds them. */
  protected abstract readonly properties: readonly P[];

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    for (const property of [...this.properties].reverse()) {
      await queryRunner.query(`ALTER TABLE ${n.keys} DROP COLUMN ${n[property]}`);
    }
  }

  /** The escaped names of the key table (qualified by the PostgreSQL schema) and of this migration's columns. */
  protected names(queryRunner: QueryRunner): KeyColumnsNames<P> {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const keys = escape(namingStrategy.tableName(apiKeyEntityFor(this.tableName).name, this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    const columns = Object.fromEntries(
      this.properties.map((property) => [property, escape(namingStrategy.columnName(property, undefined, []))]),
    ) as Record<P, string>;
    return { ...columns, keys: schema ? `${escape(schema)}.${keys}` : keys };
  }
}

/** The recorded name of a column migration: `<base><_table unless the default><timestamp>`. */
export function keyMigrationName(base: string, tableName: string, timestamp: number): string {
  const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
  return `${base}${suffix}${timestamp}`;
}
