import { DataSource, type DataSourceOptions } from 'typeorm';
import { apiKeyEntities, type ApiKeyEntityClass } from '../../storage/api-key-entities.js';
import { apiKeyMigrations } from '../../storage/migrations/index.js';
import { findSchemaProblems, migrationDatabaseOf } from '../../storage/schema-check.js';
import { CliError, ExitCode, type ExitCodeValue } from './exit-codes.js';
import { countKeyPrefixes, fitsPrefix } from './key-prefixes.js';

/** One thing `doctor` found, with what to do about it. */
export interface DoctorFinding {
  level: 'ok' | 'warning' | 'error';
  message: string;
  fix?: string;
}

/** What `doctor` checks against. */
export interface DoctorInput {
  dataSource: DataSourceOptions;
  /** The `-d` file, to print in fixes. */
  dataSourceFile: string;
  prefix: string;
  tableName?: string;
}

/** How many keys the prefix check reads at most (the newest, not revoked). */
const PREFIX_SAMPLE = 10_000;

/**
 * Connects with the host's options (its own connection, read only: no
 * synchronize, no migrations run) and checks what the library needs: the
 * tables and columns, the unique index on the hash, the library's migrations
 * recorded as run, and the configured prefix against the keys in the table.
 * @throws CliError (database unavailable) when it cannot connect
 */
export async function diagnose(input: DoctorInput): Promise<DoctorFinding[]> {
  const entities = apiKeyEntities(input.tableName);
  const type = String(input.dataSource.type);
  const dataSource = new DataSource({
    ...input.dataSource,
    entities,
    migrations: [],
    subscribers: [],
    synchronize: false,
    migrationsRun: false,
    dropSchema: false,
    logging: false,
  } as DataSourceOptions);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new CliError(`database unavailable: ${(error as Error).message}`, ExitCode.databaseUnavailable);
  }
  try {
    const database = migrationDatabaseOf(dataSource);
    const migrateFix =
      `add apiKeyMigrations(${JSON.stringify(database)}${input.tableName ? `, { tableName: ${JSON.stringify(input.tableName)} }` : ''}) ` +
      `to the migrations of ${input.dataSourceFile} and run \`npx typeorm migration:run -d ${input.dataSourceFile}\`, ` +
      'or TypeOrmModule.forRoot({ ..., migrationsRun: true }) in the app';
    const findings: DoctorFinding[] = [{ level: 'ok', message: `connected (${type})` }];
    const problems = await findSchemaProblems(dataSource, entities).catch((error: Error) => {
      throw new CliError(error.message, ExitCode.databaseUnavailable);
    });
    for (const problem of problems) findings.push({ level: 'error', message: problem, fix: migrateFix });
    if (problems.length === 0) {
      findings.push({ level: 'ok', message: 'key and event tables have every column the library reads' });
      findings.push(await hashIndexFinding(dataSource, entities[0], migrateFix));
    }
    findings.push(await migrationsFinding(dataSource, database, input, problems.length > 0, migrateFix));
    if (problems.length === 0) findings.push(await prefixFinding(dataSource, input));
    return findings;
  } finally {
    await dataSource.destroy();
  }
}

async function hashIndexFinding(
  dataSource: DataSource,
  keyEntity: ApiKeyEntityClass,
  migrateFix: string,
): Promise<DoctorFinding> {
  const metadata = dataSource.getMetadata(keyEntity);
  const hash = metadata.findColumnWithPropertyName('hash')!.databaseName;
  const runner = dataSource.createQueryRunner();
  try {
    const table = await runner.getTable(metadata.tablePath);
    const unique =
      table?.indices.some((index) => index.isUnique && index.columnNames.join() === hash) ||
      table?.uniques.some((constraint) => constraint.columnNames.join() === hash);
    return unique
      ? { level: 'ok', message: `unique index on ${metadata.tableName}.${hash}` }
      : {
          level: 'error',
          message: `no unique index on ${metadata.tableName}.${hash}: every lookup scans the table and two keys could share a hash`,
          fix: migrateFix,
        };
  } finally {
    await runner.release();
  }
}

async function migrationsFinding(
  dataSource: DataSource,
  database: ReturnType<typeof migrationDatabaseOf>,
  input: DoctorInput,
  schemaBroken: boolean,
  migrateFix: string,
): Promise<DoctorFinding> {
  const expected = apiKeyMigrations(database, input.tableName ? { tableName: input.tableName } : {}).map(
    (migration) => new migration().name!,
  );
  const options = dataSource.options as { migrationsTableName?: string; schema?: string; database?: string };
  const tablePath = dataSource.driver.buildTableName(
    options.migrationsTableName ?? 'migrations',
    options.schema,
    typeof options.database === 'string' && !['better-sqlite3', 'sqlite'].includes(database)
      ? options.database
      : undefined,
  );
  const runner = dataSource.createQueryRunner();
  let recorded: string[] = [];
  try {
    if (await runner.hasTable(tablePath)) {
      const rows: { name: string }[] = await dataSource
        .createQueryBuilder()
        .select('m.name', 'name')
        .from(tablePath, 'm')
        .getRawMany();
      recorded = rows.map((row) => row.name);
    }
  } finally {
    await runner.release();
  }
  const pending = expected.filter((name) => !recorded.includes(name));
  if (pending.length === 0) return { level: 'ok', message: `migrations recorded as run: ${expected.join(', ')}` };
  return schemaBroken
    ? { level: 'error', message: `migrations not run: ${pending.join(', ')}`, fix: migrateFix }
    : {
        level: 'warning',
        message: `the tables exist but these migrations are not recorded as run: ${pending.join(', ')} (created by synchronize?)`,
        fix:
          'mark them as run (one row each in the migrations table, see docs/production-databases.md, "Moving from ' +
          'synchronize to migrations"), so that migration:run does not try to create the tables again',
      };
}

async function prefixFinding(dataSource: DataSource, input: DoctorInput): Promise<DoctorFinding> {
  const counts = await countKeyPrefixes(dataSource, input.tableName, PREFIX_SAMPLE);
  const foreign = [...counts.entries()].filter(([prefix]) => !fitsPrefix(prefix, input.prefix));
  if (foreign.length === 0) {
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return { level: 'ok', message: `${total} active key(s), all with the prefix "${input.prefix}"` };
  }
  const listed = foreign.map(([prefix, count]) => `${count} with "${prefix}"`).join(', ');
  const [likely] = foreign.sort((a, b) => b[1] - a[1])[0];
  return {
    level: 'warning',
    message: `active keys whose prefix is not the configured "${input.prefix}": ${listed}; an app configured with "${input.prefix}" rejects them as malformed`,
    fix: `if the app uses ApiKeyModule.forRoot({ prefix: '${likely}' }), pass --prefix ${likely} (or API_KEY_PREFIX=${likely}) to this CLI`,
  };
}

/** The exit code of a diagnosis: 0 healthy, 7 warnings only, 6 an error. */
export function doctorExitCode(findings: readonly DoctorFinding[]): ExitCodeValue {
  if (findings.some((finding) => finding.level === 'error')) return ExitCode.schema;
  if (findings.some((finding) => finding.level === 'warning')) return ExitCode.warnings;
  return ExitCode.ok;
}

/** The findings for people: one line each, the fix indented below (a fix shared with the next finding once). */
export function renderFindings(findings: readonly DoctorFinding[]): string {
  const mark = { ok: 'ok     ', warning: 'WARNING', error: 'ERROR  ' } as const;
  return findings
    .map((finding, i) => {
      const fix = finding.fix && finding.fix !== findings[i + 1]?.fix ? `\n         fix: ${finding.fix}` : '';
      return `${mark[finding.level]}  ${finding.message}${fix}`;
    })
    .join('\n');
}
