import { getMetadataArgsStorage, type DataSource, type EntityMetadata, type EntitySchema } from 'typeorm';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ApiKeyEventColumns } from './api-key-event.entity.js';
import type { ApiKeyColumns } from './api-key.entity.js';
import type { ApiKeyMigrationClass, ApiKeyMigrationDatabase, ApiKeyMigrationsOptions } from './migrations/index.js';

/** An entity class (or schema) a feature adds to the host's DataSource. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export type ApiKeyFeatureEntity = Function | EntitySchema;

/**
 * A feature's tables: the functions its entry exports for them, named in the boot error when one is missing
 * (`usageEntities`, `usageMigrations`).
 */
export interface ApiKeyFeatureTables {
  /** Its entities on a key table: registered with the DataSource (`autoLoadEntities`) and checked at boot. */
  entities(tableName?: string): ApiKeyFeatureEntity[];
  /** Its migrations on one database, bound to a key table. */
  migrations(database: ApiKeyMigrationDatabase, options?: ApiKeyMigrationsOptions): ApiKeyMigrationClass[];
}

/** What a setup's database is made of: fixed when the module is defined. */
export interface ApiKeyDatabaseShape {
  /** The key entity and its audit trail's, on the setup's table. */
  readonly keys: typeof ApiKeyColumns;
  readonly events: typeof ApiKeyEventColumns;
  /** The tables of the setup's features, checked at boot with the core's. */
  readonly featureTables: readonly ApiKeyFeatureTables[];
  /** Check the tables' columns at boot (`schemaCheck`); the entities are always checked. */
  readonly schemaCheck: boolean;
}

/** How long the boot-time schema check waits for the database before it fails the boot. */
export const SCHEMA_CHECK_TIMEOUT_MS = 5000;

const MIGRATION_TYPES: readonly string[] = ['postgres', 'mysql', 'mariadb', 'better-sqlite3', 'sqlite'];

/** The `apiKeyMigrations` argument for this DataSource (its `type`, when the library ships migrations for it). */
export function migrationDatabaseOf(dataSource: DataSource): ApiKeyMigrationDatabase {
  const type = String(dataSource.options.type);
  return (MIGRATION_TYPES.includes(type) ? type : 'postgres') as ApiKeyMigrationDatabase;
}

/** A group of tables and the functions that list and migrate them: the core's, or a feature's. */
export interface TableGroup {
  readonly entities: readonly ApiKeyFeatureEntity[];
  /** The function listing them, as the user calls it (`apiKeyEntities`, `usageEntities`). */
  readonly entitiesFunction: string;
  /** The function of their migrations (`apiKeyMigrations`, `usageMigrations`). */
  readonly migrationsFunction: string;
}

/** A call of `name` for a key table, as the user writes it: `apiKeyEntities()`, `usageMigrations("postgres")`. */
function call(name: string, tableName: string, ...first: string[]): string {
  const args = [...first, ...(tableName === 'api_keys' ? [] : [JSON.stringify(tableName)])];
  if (first.length > 0 && tableName !== 'api_keys') args[args.length - 1] = `{ tableName: ${args[args.length - 1]} }`;
  return `${name}(${args.join(', ')})`;
}

/** The name of an entity class or schema. */
function nameOf(entity: ApiKeyFeatureEntity): string {
  return typeof entity === 'function' ? entity.name : entity.options.name;
}

/**
 * Which of the library's entities the DataSource does not know, by group. Each of them is needed: without the
 * event entity, every change to a key fails.
 */
export function unregisteredEntities(dataSource: DataSource, groups: readonly TableGroup[]): Map<TableGroup, string[]> {
  const missing = new Map<TableGroup, string[]>();
  for (const group of groups) {
    const names = group.entities.filter((entity) => !dataSource.hasMetadata(entity)).map(nameOf);
    if (names.length > 0) missing.set(group, names);
  }
  return missing;
}

/** The boot error for entities the DataSource does not know, with the fix. */
export function unregisteredEntitiesMessage(missing: Map<TableGroup, string[]>, tableName: string): string {
  const names = [...missing.values()].flat();
  const calls = [...missing.keys()].map((group) => `...${call(group.entitiesFunction, tableName)}`);
  return (
    `nestjs-opaque-keys: the TypeORM DataSource has no metadata for ${names.join(' and ')}. ` +
    'Add `autoLoadEntities: true` to TypeOrmModule.forRoot(), or list every entity the library needs: ' +
    `TypeOrmModule.forRoot({ ..., entities: [${calls.join(', ')}, ...yourEntities] }).`
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
  // Under TypeORM `replication` on the primary: a replica may not have replayed tables created just now.
  const runner = (dataSource.options as { replication?: unknown }).replication
    ? dataSource.createQueryRunner('master')
    : undefined;
  try {
    const qb = dataSource.createQueryBuilder(runner).from(metadata.target, 't');
    qb.select(columns.length ? columns.map((c) => `t.${c}`) : ['1']).where('1 = 0');
    await qb.getRawMany();
  } finally {
    await runner?.release();
  }
}

/**
 * What the database lacks of the tables and columns the library reads: one
 * `SELECT <columns> FROM <table> WHERE 1 = 0` per table when all is well, a
 * probe per column only to name what is missing. Empty when the schema fits.
 * @throws ApiKeyConfigurationError when the database does not answer within `timeoutMs`
 */
export async function findSchemaProblems(
  dataSource: DataSource,
  entities: readonly ApiKeyFeatureEntity[],
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
  migrationsFunctions: readonly string[] = ['apiKeyMigrations'],
): string {
  const migrations = migrationsFunctions
    .map((name) => `...${call(name, tableName, JSON.stringify(database))}`)
    .join(', ');
  return (
    `nestjs-opaque-keys: the database does not have the key tables the library reads: ${problems.join('; ')}. ` +
    `Run the library's migrations: in the app, TypeOrmModule.forRoot({ ..., migrations: [${migrations}, ...yours], ` +
    'migrationsRun: true }); or with the TypeORM CLI, add them to your data-source file ' +
    `(migrations: [${migrations}, ...yours]) and run \`npx typeorm migration:run -d ./data-source.js\`. ` +
    '`synchronize: true` also creates them, for quick starts only. ' +
    'If your deploy migrates after the app starts, set ApiKeyModule.forRoot({ schemaCheck: false }).'
  );
}

/**
 * Checks at boot, before any request, that the host's DataSource can serve
 * the library: every entity registered, and (unless `schemaCheck: false`) the
 * tables and columns present. A failure stops the boot with the fix in the
 * message, instead of 500s or 503s on the first requests. The tables of the
 * setup's features are checked with the core's, and named with their own functions.
 * @throws ApiKeyConfigurationError naming what is missing and the fix
 */
export async function checkTables(dataSource: DataSource, shape: ApiKeyDatabaseShape): Promise<void> {
  const tableName = getMetadataArgsStorage().tables.find((table) => table.target === shape.keys)?.name ?? 'api_keys';
  const groups: TableGroup[] = [
    {
      entities: [shape.keys, shape.events],
      entitiesFunction: 'apiKeyEntities',
      migrationsFunction: 'apiKeyMigrations',
    },
    ...shape.featureTables.map((tables) => ({
      entities: tables.entities(tableName),
      entitiesFunction: tables.entities.name,
      migrationsFunction: tables.migrations.name,
    })),
  ];
  const missing = unregisteredEntities(dataSource, groups);
  if (missing.size > 0) throw new ApiKeyConfigurationError(unregisteredEntitiesMessage(missing, tableName));
  if (!shape.schemaCheck) return;
  const lacking: string[] = [];
  const problems: string[] = [];
  for (const group of groups) {
    const found = await findSchemaProblems(dataSource, group.entities);
    if (found.length === 0) continue;
    problems.push(...found);
    lacking.push(group.migrationsFunction);
  }
  if (problems.length > 0) {
    throw new ApiKeyConfigurationError(
      schemaProblemsMessage(problems, migrationDatabaseOf(dataSource), tableName, lacking),
    );
  }
}
