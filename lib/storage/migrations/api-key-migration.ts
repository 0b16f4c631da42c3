import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE, type ApiKeyColumns } from '../api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-24T00:00:00Z). */
export const CREATE_API_KEYS_TIMESTAMP = 1795478400000;

/** The entity's properties, in column order. */
const PROPERTIES = [
  'id',
  'name',
  'ownerId',
  'hint',
  'hash',
  'scopes',
  'metadata',
  'createdAt',
  'expiresAt',
  'revokedAt',
  'revokedReason',
  'lastUsedAt',
  'replacedById',
] as const satisfies readonly (keyof ApiKeyColumns)[];

/** The escaped SQL names of the key table on one connection. */
export interface ApiKeyTableNames {
  /** The table, qualified by the DataSource's `schema` when it has one. */
  table: string;
  /** Each column, by entity property. */
  column: Record<(typeof PROPERTIES)[number], string>;
  primaryKey: string;
  /** The unique index on `hash`. */
  hashIndex: string;
  /** The index on `ownerId`. */
  ownerIndex: string;
}

/**
 * The migration that creates the key table, one subclass per database. Table,
 * column, key and index names come from the DataSource's naming strategy,
 * exactly as TypeORM derives them from the entity, so that a migrated
 * database and the entity agree under any naming strategy (and the schema
 * diff finds nothing to do).
 */
export abstract class CreateApiKeysMigration implements MigrationInterface {
  /** The table this migration creates; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  /** The name TypeORM records in its migrations table: the same on every database, one per table. */
  readonly name: string = CreateApiKeysMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration of `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `CreateApiKeys${suffix}${CREATE_API_KEYS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    // Dropping the table drops its indexes on every supported database.
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).table}`);
  }

  /** The escaped names of this migration's table on the connection of `queryRunner`. */
  protected names(queryRunner: QueryRunner): ApiKeyTableNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const raw = Object.fromEntries(
      PROPERTIES.map((property) => [property, namingStrategy.columnName(property, undefined, [])]),
    ) as Record<(typeof PROPERTIES)[number], string>;
    const table = namingStrategy.tableName(apiKeyEntityFor(this.tableName).name, this.tableName);
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      table: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      column: Object.fromEntries(
        PROPERTIES.map((property) => [property, escape(raw[property])]),
      ) as ApiKeyTableNames['column'],
      primaryKey: escape(namingStrategy.primaryKeyName(table, [raw.id])),
      hashIndex: escape(namingStrategy.indexName(table, [raw.hash])),
      ownerIndex: escape(namingStrategy.indexName(table, [raw.ownerId])),
    };
  }
}
