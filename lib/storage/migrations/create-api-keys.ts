import type { MigrationInterface, QueryRunner } from 'typeorm';
import { type ApiKeyColumns, apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';

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

/**
 * Creates the key table on PostgreSQL (tested on 15). `varchar(64)` rather
 * than `char(64)` for the hash: PostgreSQL stores both alike and `char` only
 * adds padding work. Timestamps are `timestamp(3)`, the type TypeORM maps
 * the entity's `Date` columns to (values in the app's time zone).
 */
export class CreateApiKeysPostgres1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, primaryKey, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} character varying(36) NOT NULL, ` +
        `${c.name} character varying(100) NOT NULL, ` +
        `${c.ownerId} character varying(255), ` +
        `${c.hint} character varying(48) NOT NULL, ` +
        `${c.hash} character varying(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text, ` +
        `${c.createdAt} timestamp(3) without time zone NOT NULL, ` +
        `${c.expiresAt} timestamp(3) without time zone, ` +
        `${c.revokedAt} timestamp(3) without time zone, ` +
        `${c.revokedReason} character varying(255), ` +
        `${c.lastUsedAt} timestamp(3) without time zone, ` +
        `${c.replacedById} character varying(36), ` +
        `CONSTRAINT ${primaryKey} PRIMARY KEY (${c.id}))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX ${hashIndex} ON ${table} (${c.hash})`);
    await queryRunner.query(`CREATE INDEX ${ownerIndex} ON ${table} (${c.ownerId})`);
  }
}

/**
 * Creates the key table on MySQL / MariaDB (tested on MariaDB 10.11). InnoDB
 * for transactions and row locks. The table's collation is `utf8mb4_bin`, not
 * the server default (usually case-insensitive): `ownerId` filters and the
 * hash index then compare exactly, as on SQLite and PostgreSQL, so owner
 * `Team-1` never sees the keys of `team-1`, and comparisons skip collation work.
 */
export class CreateApiKeysMysql1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    // No primary key name: MySQL names every primary key PRIMARY.
    const { table, column: c, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) NOT NULL, ` +
        `${c.name} varchar(100) NOT NULL, ` +
        `${c.ownerId} varchar(255) NULL, ` +
        `${c.hint} varchar(48) NOT NULL, ` +
        `${c.hash} varchar(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text NULL, ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.expiresAt} datetime(3) NULL, ` +
        `${c.revokedAt} datetime(3) NULL, ` +
        `${c.revokedReason} varchar(255) NULL, ` +
        `${c.lastUsedAt} datetime(3) NULL, ` +
        `${c.replacedById} varchar(36) NULL, ` +
        `INDEX ${ownerIndex} (${c.ownerId}), ` +
        `UNIQUE INDEX ${hashIndex} (${c.hash}), ` +
        `PRIMARY KEY (${c.id})` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/**
 * Creates the key table on SQLite (better-sqlite3 or sqlite3). SQLite types
 * are affinities: the `varchar(n)` columns are TEXT, lengths are checked by
 * the library, dates are stored as UTC text with milliseconds.
 */
export class CreateApiKeysSqlite1795478400000 extends CreateApiKeysMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const { table, column: c, hashIndex, ownerIndex } = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${table} (` +
        `${c.id} varchar(36) PRIMARY KEY NOT NULL, ` +
        `${c.name} varchar(100) NOT NULL, ` +
        `${c.ownerId} varchar(255), ` +
        `${c.hint} varchar(48) NOT NULL, ` +
        `${c.hash} varchar(64) NOT NULL, ` +
        `${c.scopes} text NOT NULL, ` +
        `${c.metadata} text, ` +
        `${c.createdAt} datetime(3) NOT NULL, ` +
        `${c.expiresAt} datetime(3), ` +
        `${c.revokedAt} datetime(3), ` +
        `${c.revokedReason} varchar(255), ` +
        `${c.lastUsedAt} datetime(3), ` +
        `${c.replacedById} varchar(36))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX ${hashIndex} ON ${table} (${c.hash})`);
    await queryRunner.query(`CREATE INDEX ${ownerIndex} ON ${table} (${c.ownerId})`);
  }
}
