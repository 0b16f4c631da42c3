import type { MigrationInterface, QueryRunner } from 'typeorm';
import { apiKeyEventEntityFor } from '../api-key-event.entity.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../api-key.entity.js';

/** The timestamp TypeORM orders this migration by (2026-11-25T00:00:00Z), after CreateApiKeys. */
export const ADD_KEY_POLICIES_TIMESTAMP = 1795564800000;

const EVENT_PROPERTIES = ['id', 'keyId', 'ownerId', 'type', 'actor', 'at', 'details'] as const;

/** The escaped SQL names this migration touches on one connection. */
export interface KeyPoliciesNames {
  keys: string;
  familyId: string;
  remainingUses: string;
  rateLimitMax: string;
  rateLimitWindowMs: string;
  familyIndex: string;
  events: string;
  /** Each column of the events table, by entity property. */
  event: Record<(typeof EVENT_PROPERTIES)[number], string>;
  eventsPrimaryKey: string;
  eventsKeyIndex: string;
  eventsOwnerIndex: string;
}

/**
 * The second migration: rotation families (`familyId`, indexed), use limits
 * (`remainingUses`), per-key rate limits (`rateLimitMax`, `rateLimitWindowMs`) and the audit table (`<table>_events`, `api_key_events`
 * for `api_keys`). Names come from the DataSource's naming strategy, as for
 * CreateApiKeys, so the schema diff finds nothing to do afterwards.
 */
export abstract class AddKeyPoliciesMigration implements MigrationInterface {
  /** The key table; `apiKeyMigrations(type, { tableName })` overrides it. */
  readonly tableName: string = DEFAULT_API_KEY_TABLE;
  readonly name: string = AddKeyPoliciesMigration.nameFor(DEFAULT_API_KEY_TABLE);

  /** The recorded name of the migration for `tableName`. */
  static nameFor(tableName: string): string {
    const suffix = tableName === DEFAULT_API_KEY_TABLE ? '' : `_${tableName}`;
    return `AddKeyPolicies${suffix}${ADD_KEY_POLICIES_TIMESTAMP}`;
  }

  abstract up(queryRunner: QueryRunner): Promise<void>;

  async down(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    await queryRunner.query(`DROP TABLE ${n.events}`);
    const isMysql = ['mysql', 'mariadb'].includes(queryRunner.connection.driver.options.type);
    await queryRunner.query(
      isMysql ? `DROP INDEX ${n.familyIndex} ON ${n.keys}` : `DROP INDEX ${this.qualify(queryRunner, n.familyIndex)}`,
    );
    for (const column of [n.rateLimitWindowMs, n.rateLimitMax, n.remainingUses]) {
      await queryRunner.query(`ALTER TABLE ${n.keys} DROP COLUMN ${column}`);
    }
    await queryRunner.query(`ALTER TABLE ${n.keys} DROP COLUMN ${n.familyId}`);
  }

  /** An index name qualified by the PostgreSQL schema, where there is one. */
  protected qualify(queryRunner: QueryRunner, escapedName: string): string {
    const { driver } = queryRunner.connection;
    const schema = driver.options.type === 'postgres' ? (driver.options as { schema?: string }).schema : undefined;
    return schema ? `${driver.escape(schema)}.${escapedName}` : escapedName;
  }

  protected names(queryRunner: QueryRunner): KeyPoliciesNames {
    const { driver, namingStrategy } = queryRunner.connection;
    const escape = (name: string) => driver.escape(name);
    const column = (property: string) => namingStrategy.columnName(property, undefined, []);
    const keys = namingStrategy.tableName(apiKeyEntityFor(this.tableName).name, this.tableName);
    const eventsTable = apiKeyEventEntityFor(this.tableName);
    const events = namingStrategy.tableName(
      eventsTable.name,
      `${this.tableName === DEFAULT_API_KEY_TABLE ? 'api_key' : this.tableName}_events`,
    );
    return {
      keys: this.qualify(queryRunner, escape(keys)),
      familyId: escape(column('familyId')),
      remainingUses: escape(column('remainingUses')),
      rateLimitMax: escape(column('rateLimitMax')),
      rateLimitWindowMs: escape(column('rateLimitWindowMs')),
      familyIndex: escape(namingStrategy.indexName(keys, [column('familyId')])),
      events: this.qualify(queryRunner, escape(events)),
      event: Object.fromEntries(EVENT_PROPERTIES.map((p) => [p, escape(column(p))])) as KeyPoliciesNames['event'],
      eventsPrimaryKey: escape(namingStrategy.primaryKeyName(events, [column('id')])),
      eventsKeyIndex: escape(namingStrategy.indexName(events, [column('keyId')])),
      eventsOwnerIndex: escape(namingStrategy.indexName(events, [column('ownerId')])),
    };
  }
}

/** Adds rotation families, use limits and the audit table on PostgreSQL. */
export class AddKeyPoliciesPostgres1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.familyId} character varying(36)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.remainingUses} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.rateLimitMax} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD ${n.rateLimitWindowMs} integer`);
    await queryRunner.query(`CREATE INDEX ${n.familyIndex} ON ${n.keys} (${n.familyId})`);
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} character varying(36) NOT NULL, ${e.keyId} character varying(36) NOT NULL, ` +
        `${e.ownerId} character varying(255), ${e.type} character varying(32) NOT NULL, ${e.actor} character varying(255), ` +
        `${e.at} timestamp(3) without time zone NOT NULL, ${e.details} text, CONSTRAINT ${n.eventsPrimaryKey} PRIMARY KEY (${e.id}))`,
    );
    await queryRunner.query(`CREATE INDEX ${n.eventsKeyIndex} ON ${n.events} (${e.keyId})`);
    await queryRunner.query(`CREATE INDEX ${n.eventsOwnerIndex} ON ${n.events} (${e.ownerId})`);
  }
}

/** Adds rotation families, use limits and the audit table on MySQL / MariaDB (exact `utf8mb4_bin` comparisons, as CreateApiKeys). */
export class AddKeyPoliciesMysql1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(
      `ALTER TABLE ${n.keys} ADD ${n.familyId} varchar(36) NULL, ADD ${n.remainingUses} int NULL, ADD ${n.rateLimitMax} int NULL, ADD ${n.rateLimitWindowMs} int NULL, ADD INDEX ${n.familyIndex} (${n.familyId})`,
    );
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} varchar(36) NOT NULL, ${e.keyId} varchar(36) NOT NULL, ${e.ownerId} varchar(255) NULL, ` +
        `${e.type} varchar(32) NOT NULL, ${e.actor} varchar(255) NULL, ${e.at} datetime(3) NOT NULL, ${e.details} text NULL, ` +
        `INDEX ${n.eventsKeyIndex} (${e.keyId}), INDEX ${n.eventsOwnerIndex} (${e.ownerId}), PRIMARY KEY (${e.id})` +
        `) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    );
  }
}

/** Adds rotation families, use limits and the audit table on SQLite. */
export class AddKeyPoliciesSqlite1795564800000 extends AddKeyPoliciesMigration {
  async up(queryRunner: QueryRunner): Promise<void> {
    const n = this.names(queryRunner);
    const e = n.event;
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.familyId} varchar(36)`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.remainingUses} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.rateLimitMax} integer`);
    await queryRunner.query(`ALTER TABLE ${n.keys} ADD COLUMN ${n.rateLimitWindowMs} integer`);
    await queryRunner.query(`CREATE INDEX ${n.familyIndex} ON ${n.keys} (${n.familyId})`);
    await queryRunner.query(
      `CREATE TABLE ${n.events} (${e.id} varchar(36) PRIMARY KEY NOT NULL, ${e.keyId} varchar(36) NOT NULL, ` +
        `${e.ownerId} varchar(255), ${e.type} varchar(32) NOT NULL, ${e.actor} varchar(255), ${e.at} datetime(3) NOT NULL, ${e.details} text)`,
    );
    await queryRunner.query(`CREATE INDEX ${n.eventsKeyIndex} ON ${n.events} (${e.keyId})`);
    await queryRunner.query(`CREATE INDEX ${n.eventsOwnerIndex} ON ${n.events} (${e.ownerId})`);
  }
}
