import { DataSource, type DataSourceOptions } from 'typeorm';
import { apiKeyEntities, type ApiKeyEntityClass } from '../../storage/api-key-entities.js';
import { apiKeyEventEntityFor, type ApiKeyEventColumns } from '../../storage/api-key-event.entity.js';
import { readKeyFormat, type ApiKeyFormat } from '../../storage/key-format.record.js';
import { apiKeyMigrations } from '../../storage/migrations/index.js';
import { findSchemaProblems, migrationDatabaseOf } from '../../storage/schema-check.js';
import { describeKeyFormat, resolveCliKeyFormat, type KeyFormatFlags } from './cli-key-format.js';
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
  /** The CLI's `--prefix` and tag secret, checked against the format the app recorded. */
  flags: KeyFormatFlags;
  tableName?: string;
}

/** How many keys the prefix check reads at most (the newest, not revoked). */
const PREFIX_SAMPLE = 10_000;

/**
 * Connects with the host's options (its own connection, read only: no
 * synchronize, no migrations run) and checks what the library needs: the
 * tables and columns, the unique index on the hash, the library's migrations
 * recorded as run, the key format the app recorded at boot against the
 * CLI's flags, and the prefixes of the keys in the table against that format.
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
    if (problems.length === 0) {
      const { finding, format } = await formatFinding(dataSource, apiKeyEventEntityFor(input.tableName), input);
      findings.push(...finding, await prefixFinding(dataSource, input, format));
    }
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

/** The format the app recorded, checked against the CLI's flags; or a warning that none is recorded. */
async function formatFinding(
  dataSource: DataSource,
  events: typeof ApiKeyEventColumns,
  input: DoctorInput,
): Promise<{ finding: DoctorFinding[]; format?: ApiKeyFormat }> {
  const recorded = await readKeyFormat(dataSource, events).catch((error: Error) => {
    throw new CliError(`database unavailable: ${error.message}`, ExitCode.databaseUnavailable);
  });
  const table = dataSource.getMetadata(events).tablePath;
  if (!recorded) {
    return {
      finding: [
        {
          level: 'warning',
          message: `no key format recorded in ${table}: issue needs --prefix, and cannot apply the app's lifetimes or tag`,
          fix:
            'start the app once on this database: it records its key format at start (unless ' +
            'ApiKeyModule.forRoot({ recordKeyFormat: false })); see the warning it logs if it cannot',
        },
      ],
    };
  }
  if (!recorded.format) return { finding: [{ level: 'warning', message: recorded.problem! }] };
  const format = recorded.format;
  const at = recorded.recordedAt.toISOString();
  const finding: DoctorFinding[] = [
    { level: 'ok', message: `key format recorded by the app at ${at}: ${describeKeyFormat(format)}` },
  ];
  const { issueRefusal, mintRefusal } = resolveCliKeyFormat(recorded, input.flags, table);
  if (issueRefusal && issueRefusal !== mintRefusal)
    finding.push({ level: 'warning', message: `issue refuses: ${issueRefusal}` });
  if (mintRefusal && !input.flags.tagSecret)
    finding.push({ level: 'ok', message: 'issue and rotate need API_KEY_TAG_SECRET (the app tags its keys)' });
  else if (mintRefusal) finding.push({ level: 'warning', message: `issue and rotate refuse: ${mintRefusal}` });
  return { finding, format };
}

/** The prefixes of the active keys against the app's recorded format (or else `--prefix`). */
async function prefixFinding(
  dataSource: DataSource,
  input: DoctorInput,
  format?: ApiKeyFormat,
): Promise<DoctorFinding> {
  const counts = await countKeyPrefixes(dataSource, input.tableName, PREFIX_SAMPLE);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const prefixes = format
    ? format.environments.length
      ? format.environments.map((env) => `${format.prefix}_${env}`)
      : [format.prefix]
    : input.flags.prefix
      ? [input.flags.prefix]
      : undefined;
  const seen = [...counts.keys()].map((prefix) => `"${prefix}"`).join(', ');
  if (!prefixes) return { level: 'ok', message: `${total} active key(s)${total ? `, with the prefixes ${seen}` : ''}` };
  const named = prefixes.map((prefix) => `"${prefix}"`).join(' or ');
  const fits = (prefix: string) => (format ? prefixes.includes(prefix) : fitsPrefix(prefix, prefixes[0]));
  const foreign = [...counts.entries()].filter(([prefix]) => !fits(prefix));
  if (foreign.length === 0) return { level: 'ok', message: `${total} active key(s), all with the prefix ${named}` };
  const listed = foreign.map(([prefix, count]) => `${count} with "${prefix}"`).join(', ');
  const [likely] = foreign.sort((a, b) => b[1] - a[1])[0];
  return format
    ? {
        level: 'warning',
        message: `active keys the app rejects as malformed (it accepts ${named}): ${listed}`,
        fix:
          'revoke them (`list` shows their hints) and issue replacements, which follow the recorded format; if the ' +
          "app's format changed, start the app so that it records the new one",
      }
    : {
        level: 'warning',
        message: `active keys whose prefix is not --prefix ${named}: ${listed}; an app configured with ${named} rejects them as malformed`,
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
