import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyImportEntityFor, importSourceIndexFor, importTableFor } from '../api-key-import.entity.js';
import { DEFAULT_API_KEY_TABLE } from '../../../storage/api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-12-07T00:00:00Z). */
export const ADD_IMPORTS_TIMESTAMP = 1796601600000;

/** The escaped SQL names of the import table on one connection. */
interface ImportNames {
  table: string;
  keyId: string;
  source: string;
  sourceId: string;
  fingerprint: string;
  foreignHash: string;
  importedAt: string;
  index: string;
}

/** The import feature's migration: the import table (`<table>_imports`, `api_key_imports` for `api_keys`). */
export abstract class AddImportsMigration implements MigrationInterface {
  /** The key table; `importMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddImportsMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddImports${suffix}${ADD_IMPORTS_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${this.names(queryRunner).table}`);
  }

  protected names(queryRunner: QueryRunner): ImportNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => escape(namingStrategy.columnName(property, undefined, []));
    const table = namingStrategy.tableName(apiKeyImportEntityFor(this.tableName).name, importTableFor(this.tableName));
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return {
      table: schema ? `${escape(schema)}.${escape(table)}` : escape(table),
      keyId: column('keyId'),
      source: column('source'),
      sourceId: column('sourceId'),
      fingerprint: column('fingerprint'),
      foreignHash: column('foreignHash'),
      importedAt: column('importedAt'),
      index: escape(importSourceIndexFor(this.tableName)),
    };
  }

  /**
   * The statements, with the dialect's text and time types; SQLite declares the key on its column (as TypeORM's
   * own schema does there), the others as a constraint, followed by `suffix` (MySQL's engine and collation).
   */
  protected async create(
    queryRunner: QueryRunner,
    dialect: { varchar: string; time: string; inlineKey?: boolean; suffix?: string },
  ): Promise<void> {
    const n = this.names(queryRunner);
    const { varchar, time, inlineKey = false, suffix = '' } = dialect;
    await queryRunner.query(
      `CREATE TABLE ${n.table} (${n.keyId} ${varchar}(36) ${inlineKey ? 'PRIMARY KEY ' : ''}NOT NULL, ` +
        `${n.source} ${varchar}(32) NOT NULL, ${n.sourceId} ${varchar}(255) NOT NULL, ` +
        `${n.fingerprint} ${varchar}(64) NOT NULL, ${n.foreignHash} ${varchar}(255), ` +
        `${n.importedAt} ${time} NOT NULL${inlineKey ? '' : `, PRIMARY KEY (${n.keyId})`})${suffix}`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX ${n.index} ON ${n.table} (${n.source}, ${n.sourceId})`);
  }
}

/** Adds the import table on PostgreSQL. */
export class AddImportsPostgres1796601600000 extends AddImportsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    await this.create(queryRunner, { varchar: 'character varying', time: 'timestamp(3) without time zone' });
  }
}

/** Adds the import table on MySQL / MariaDB. */
export class AddImportsMysql1796601600000 extends AddImportsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    await this.create(queryRunner, {
      varchar: 'varchar',
      time: 'datetime(3)',
      suffix: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
    });
  }
}

/** Adds the import table on SQLite. */
export class AddImportsSqlite1796601600000 extends AddImportsMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    await this.create(queryRunner, { varchar: 'varchar', time: 'datetime(3)', inlineKey: true });
  }
}
