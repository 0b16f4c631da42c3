import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyOwnerPolicyEntityFor, ownerPolicyTableFor } from '../owner-policy.entity.js';
import { DEFAULT_API_KEY_TABLE } from '../../../storage/api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-12-07T00:00:00Z), after the core's and the usage table. */
export const ADD_OWNER_POLICIES_TIMESTAMP = 1796601600000;

/** The escaped SQL names of the policy table on one connection. */
export interface OwnerPolicyNames {
  table: string;
  ownerId: string;
  policy: string;
  updatedAt: string;
  updatedBy: string;
  primaryKey: string;
}

/** The owner-policies feature's migration: the policy table (`<table>_owner_policies`). */
export abstract class AddOwnerPoliciesMigration implements MigrationInterface {
  /** The key table; `ownerPolicyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddOwnerPoliciesMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddOwnerPolicies${suffix}${ADD_OWNER_POLICIES_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).table}`);
  }

  protected names(queryRunner: QueryRunner): OwnerPolicyNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => namingStrategy.columnName(property, undefined, []);
    const entity = apiKeyOwnerPolicyEntityFor(this.tableName);
    const table = namingStrategy.tableName(entity.name, ownerPolicyTableFor(this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      table: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      ownerId: escape(column('ownerId')),
      policy: escape(column('policy')),
      updatedAt: escape(column('updatedAt')),
      updatedBy: escape(column('updatedBy')),
      primaryKey: escape(namingStrategy.primaryKeyName(table, [column('ownerId')])),
    };
  }
}

/** Adds the policy table on PostgreSQL. */
export class AddOwnerPoliciesPostgres1796601600000 extends AddOwnerPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.ownerId} character varying(255) NOT NULL, ${n.policy} text NOT NULL, ` +
        `${n.updatedAt} timestamp(3) without time zone NOT NULL, ${n.updatedBy} character varying(255), ` +
        `CONSTRAINT ${n.primaryKey} PRIMARY KEY (${n.ownerId}))`,
    );
  }
}

/** Adds the policy table on MySQL / MariaDB. */
export class AddOwnerPoliciesMysql1796601600000 extends AddOwnerPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.ownerId} varchar(255) NOT NULL, ${n.policy} text NOT NULL, ` +
        `${n.updatedAt} datetime(3) NOT NULL, ${n.updatedBy} varchar(255) NULL, PRIMARY KEY (${n.ownerId})) ` +
        `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/** Adds the policy table on SQLite. */
export class AddOwnerPoliciesSqlite1796601600000 extends AddOwnerPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.ownerId} varchar(255) PRIMARY KEY NOT NULL, ${n.policy} text NOT NULL, ` +
        `${n.updatedAt} datetime(3) NOT NULL, ${n.updatedBy} varchar(255))`,
    );
  }
}
