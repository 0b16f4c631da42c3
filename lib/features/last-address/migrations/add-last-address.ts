import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../../storage/api-key.entity.js';
import { apiKeyLastAddressEntityFor, lastAddressTableFor } from '../api-key-last-address.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-29T00:00:00Z), after the core's and AddWebhooks. */
export const ADD_LAST_ADDRESS_TIMESTAMP = 1796083200000;

/** The escaped SQL names of the last-address table on one connection. */
export interface LastAddressNames {
  table: string;
  keyId: string;
  address: string;
  usedAt: string;
  primaryKey: string;
}

/** The last-address table (`<table>_last_address`, `api_key_last_address` for `api_keys`): one row per key. */
export abstract class AddLastAddressMigration implements MigrationInterface {
  /** The key table; `lastAddressMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddLastAddressMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddLastAddress${suffix}${ADD_LAST_ADDRESS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).table}`);
  }

  protected names(queryRunner: QueryRunner): LastAddressNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => namingStrategy.columnName(property, undefined, []);
    const entity = apiKeyLastAddressEntityFor(this.tableName);
    const table = namingStrategy.tableName(entity.name, lastAddressTableFor(this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      table: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      keyId: escape(column('keyId')),
      address: escape(column('address')),
      usedAt: escape(column('usedAt')),
      primaryKey: escape(namingStrategy.primaryKeyName(table, [column('keyId')])),
    };
  }
}

/** Adds the last-address table on PostgreSQL. */
export class AddLastAddressPostgres1796083200000 extends AddLastAddressMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.keyId} character varying(36) NOT NULL, ${n.address} character varying(64) NOT NULL, ` +
        `${n.usedAt} timestamp(3) without time zone NOT NULL, CONSTRAINT ${n.primaryKey} PRIMARY KEY (${n.keyId}))`,
    );
  }
}

/** Adds the last-address table on MySQL / MariaDB. */
export class AddLastAddressMysql1796083200000 extends AddLastAddressMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.keyId} varchar(36) NOT NULL, ${n.address} varchar(64) NOT NULL, ` +
        `${n.usedAt} datetime(3) NOT NULL, PRIMARY KEY (${n.keyId})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/** Adds the last-address table on SQLite. */
export class AddLastAddressSqlite1796083200000 extends AddLastAddressMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.keyId} varchar(36) PRIMARY KEY NOT NULL, ${n.address} varchar(64) NOT NULL, ` +
        `${n.usedAt} datetime(3) NOT NULL)`,
    );
  }
}
