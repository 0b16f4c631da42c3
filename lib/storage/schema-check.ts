import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { getMetadataArgsStorage, type DataSource, type EntityMetadata } from 'typeorm';
import {
  API_KEY_DATA_SOURCE,
  API_KEY_ENTITY,
  API_KEY_EVENT_ENTITY,
  API_KEY_OPTIONS,
  API_KEY_WEBHOOK_ENTITY,
} from '../api-key.constants.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyEntityClass } from './api-key-entities.js';
import type { ApiKeyMigrationDatabase } from './migrations/index.js';

/** How long the boot-time schema check waits for the database before it fails the boot. */
export const SCHEMA_CHECK_TIMEOUT_MS = 5000;

const MIGRATION_TYPES: readonly string[] = ['postgres', 'mysql', 'mariadb', 'better-sqlite3', 'sqlite'];

/** The `apiKeyMigrations` argument for this DataSource (its `type`, when the library ships migrations for it). */
export function migrationDatabaseOf(dataSource: DataSource): ApiKeyMigrationDatabase {
  const type = String(dataSource.options.type);
  return (MIGRATION_TYPES.includes(type) ? type : 'postgres') as ApiKeyMigrationDatabase;
}

/** The `apiKeyEntities(...)` call matching a key table, as the user writes it. */
function entitiesCall(tableName: string): string {
  return tableName === 'api_keys' ? 'apiKeyEntities()' : `apiKeyEntities(${JSON.stringify(tableName)})`;
}

/**
 * Which of the library's entities the DataSource does not know. Each of them
 * is needed: without the event entity, every change to a key fails.
 */
export function unregisteredEntities(dataSource: DataSource, entities: readonly ApiKeyEntityClass[]): string[] {
  return entities.filter((entity) => !dataSource.hasMetadata(entity)).map((entity) => entity.name);
}

/** The boot error for entities the DataSource does not know, with the fix. */
export function unregisteredEntitiesMessage(missing: readonly string[], tableName: string): string {
  return (
    `nestjs-opaque-keys: the TypeORM DataSource has no metadata for ${missing.join(' and ')}. ` +
    'Add `autoLoadEntities: true` to TypeOrmModule.forRoot(), or list every entity the library needs: ' +
    `TypeOrmModule.forRoot({ ..., entities: [...${entitiesCall(tableName)}, ...yourEntities] }) ` +
    "(import { apiKeyEntities } from 'nestjs-opaque-keys')."
  );
}

/** Runs `work`, or rejects once `ms` have passed. */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Selects `columns` of `metadata`'s table and no row; rejects when the table or a column does not exist. */
async function probe(dataSource: DataSource, metadata: EntityMetadata, columns: readonly string[]): Promise<void> {
  const qb = dataSource.createQueryBuilder().from(metadata.target, 't');
  qb.select(columns.length ? columns.map((c) => `t.${c}`) : ['1']).where('1 = 0');
  await qb.getRawMany();
}

/**
 * What the database lacks of the tables and columns the library reads: one
 * `SELECT <columns> FROM <table> WHERE 1 = 0` per table when all is well, a
 * probe per column only to name what is missing. Empty when the schema fits.
 * @throws ApiKeyConfigurationError when the database does not answer within `timeoutMs`
 */
export async function findSchemaProblems(
  dataSource: DataSource,
  entities: readonly ApiKeyEntityClass[],
  timeoutMs = SCHEMA_CHECK_TIMEOUT_MS,
): Promise<string[]> {
  const problems: string[] = [];
  const check = async () => {
    for (const entity of entities) {
      const metadata = dataSource.getMetadata(entity);
      const properties = metadata.columns.map((column) => column.propertyPath);
      try {
        await probe(dataSource, metadata, properties);
        continue;
      } catch {
        // Find out below what is missing, or whether the database is down.
      }
      try {
        await probe(dataSource, metadata, []);
      } catch (tableError) {
        await dataSource.query('SELECT 1').catch((error: unknown) => {
          throw new ApiKeyConfigurationError(unreachableMessage(error), { cause: error });
        });
        problems.push(`table ${metadata.tablePath} does not exist (${firstLine(tableError)})`);
        continue;
      }
      const missing: string[] = [];
      for (const column of metadata.columns) {
        await probe(dataSource, metadata, [column.propertyPath]).catch(() => missing.push(column.databaseName));
      }
      problems.push(`table ${metadata.tablePath} lacks column(s) ${missing.join(', ')}`);
    }
  };
  try {
    await within(timeoutMs, check());
  } catch (error) {
    if (error instanceof ApiKeyConfigurationError) throw error;
    throw new ApiKeyConfigurationError(unreachableMessage(error), { cause: error });
  }
  return problems;
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}

function unreachableMessage(error: unknown): string {
  return (
    `nestjs-opaque-keys: could not check the key tables at boot, the database did not answer (${firstLine(error)}). ` +
    'The app does not start on a database it cannot check; start it again once the database is up, ' +
    'or set ApiKeyModule.forRoot({ schemaCheck: false }) to skip the check.'
  );
}

/** The boot error for a schema that lacks tables or columns, naming the migrations and how to run them. */
export function schemaProblemsMessage(
  problems: readonly string[],
  database: ApiKeyMigrationDatabase,
  tableName: string,
): string {
  const migrations =
    tableName === 'api_keys'
      ? `apiKeyMigrations(${JSON.stringify(database)})`
      : `apiKeyMigrations(${JSON.stringify(database)}, { tableName: ${JSON.stringify(tableName)} })`;
  return (
    `nestjs-opaque-keys: the database does not have the key tables the library reads: ${problems.join('; ')}. ` +
    `Run the library's migrations: in the app, TypeOrmModule.forRoot({ ..., migrations: [...${migrations}, ...yours], ` +
    'migrationsRun: true }); or with the TypeORM CLI, add them to your data-source file ' +
    `(migrations: [...${migrations}, ...yours]) and run \`npx typeorm migration:run -d ./data-source.js\`. ` +
    '`synchronize: true` also creates them, for quick starts only. ' +
    'If your deploy migrates after the app starts, set ApiKeyModule.forRoot({ schemaCheck: false }).'
  );
}

/**
 * Checks at boot, before any request, that the host's DataSource can serve
 * the library: every entity registered, and (unless `schemaCheck: false`) the
 * tables and columns present. A failure stops the boot with the fix in the
 * message, instead of 500s or 503s on the first requests. The webhook
 * delivery table is required only when `events.webhooks` is configured.
 */
@Injectable()
export class ApiKeySchemaCheck implements OnModuleInit {
  constructor(
    @Inject(API_KEY_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(API_KEY_ENTITY) private readonly keyEntity: ApiKeyEntityClass,
    @Inject(API_KEY_EVENT_ENTITY) private readonly eventEntity: ApiKeyEntityClass,
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    @Inject(API_KEY_WEBHOOK_ENTITY) private readonly webhookEntity: ApiKeyEntityClass,
  ) {}

  async onModuleInit(): Promise<void> {
    const entities = [this.keyEntity, this.eventEntity, ...(this.options.webhooks ? [this.webhookEntity] : [])];
    const tableName = getMetadataArgsStorage().tables.find((table) => table.target === this.keyEntity)?.name;
    const missing = unregisteredEntities(this.dataSource, entities);
    if (missing.length)
      throw new ApiKeyConfigurationError(unregisteredEntitiesMessage(missing, tableName ?? 'api_keys'));
    if (!this.options.schemaCheck) return;
    const problems = await findSchemaProblems(this.dataSource, entities);
    if (problems.length) {
      throw new ApiKeyConfigurationError(
        schemaProblemsMessage(problems, migrationDatabaseOf(this.dataSource), tableName ?? 'api_keys'),
      );
    }
  }
}
