import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyUsageEntityFor, usageTableFor } from '../api-key-usage.entity.js';
import { DEFAULT_API_KEY_TABLE } from '../../../storage/api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-26T00:00:00Z), after AddKeyPolicies. */
export const ADD_USAGE_TIMESTAMP = 1795824000000;

/** The escaped SQL names of the usage table on one connection. */
export interface UsageNames {
  usage: string;
  keyId: string;
  hour: string;
  outcome: string;
  count: string;
  primaryKey: string;
}

/** The third migration: the per-key usage table (`<table>_usage`, `api_key_usage` for `api_keys`). */
export abstract class AddUsageMigration implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddUsageMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddUsage${suffix}${ADD_USAGE_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).usage}`);
  }

  protected names(queryRunner: QueryRunner): UsageNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => namingStrategy.columnName(property, undefined, []);
    const table = namingStrategy.tableName(apiKeyUsageEntityFor(this.tableName).name, usageTableFor(this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      usage: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      keyId: escape(column('keyId')),
      hour: escape(column('hour')),
      outcome: escape(column('outcome')),
      count: escape(column('count')),
      primaryKey: escape(namingStrategy.primaryKeyName(table, [column('keyId'), column('hour'), column('outcome')])),
    };
  }
}

/** Adds the per-key usage table on PostgreSQL. */
export class AddUsagePostgres1795824000000 extends AddUsageMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.usage} (${n.keyId} character varying(36) NOT NULL, ${n.hour} integer NOT NULL, ` +
        `${n.outcome} character varying(16) NOT NULL, ${n.count} integer NOT NULL, ` +
        `CONSTRAINT ${n.primaryKey} PRIMARY KEY (${n.keyId}, ${n.hour}, ${n.outcome}))`,
    );
  }
}

/** Adds the per-key usage table on MySQL / MariaDB. */
export class AddUsageMysql1795824000000 extends AddUsageMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.usage} (${n.keyId} varchar(36) NOT NULL, ${n.hour} int NOT NULL, ${n.outcome} varchar(16) NOT NULL, ` +
        `${n.count} int NOT NULL, PRIMARY KEY (${n.keyId}, ${n.hour}, ${n.outcome})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/** Adds the per-key usage table on SQLite. */
export class AddUsageSqlite1795824000000 extends AddUsageMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.usage} (${n.keyId} varchar(36) NOT NULL, ${n.hour} integer NOT NULL, ${n.outcome} varchar(16) NOT NULL, ` +
        `${n.count} integer NOT NULL, PRIMARY KEY (${n.keyId}, ${n.hour}, ${n.outcome}))`,
    );
  }
}
