import { Command, CommanderError } from 'commander';
import { userInfo } from 'node:os';
import { ApiKeyStoreUnavailableError } from '../../api-key.errors.js';
import type { ApiKeyService } from '../../lifecycle/api-key.service.js';
import { withApiKeyService } from './cli-context.js';
import { loadDataSourceOptions } from './data-source-loader.js';
import { CliError, EXIT_CODES_HELP, ExitCode, exitCodeOf } from './exit-codes.js';
import { emit, recordDetails, recordsTable, type Output } from './output.js';
import { diagnose, doctorExitCode, renderFindings } from './doctor.js';
import { assertIssuePrefix } from './key-prefixes.js';

/** Options every command takes. */
interface GlobalOptions {
  dataSource: string;
  prefix?: string;
  table?: string;
  json?: boolean;
}

/** Where the CLI writes: stdout for results, stderr for errors. */
export interface CliStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

function scopesOf(value: string): string[] {
  return value
    .split(',')
    .map((scope) => scope.trim())
    .filter(Boolean);
}

function dateOf(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new CliError(`--expires-at must be an ISO 8601 date; got ${JSON.stringify(value)}`, ExitCode.validation);
  return date;
}

function integerOf(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new CliError(`--${name} must be a non-negative integer; got ${JSON.stringify(value)}`, ExitCode.validation);
  return Number(value);
}

/** The actor of the audit events this CLI writes: `cli:<os user>`. */
export function cliActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
  return `cli:${user}`;
}

/** An id that cannot name a key (empty, or longer than any key id) is "not found", as an unknown one is. */
function keyId(id: string): string {
  if (id.length === 0 || id.length > 36)
    throw new CliError(`API key ${JSON.stringify(id)} not found`, ExitCode.notFound);
  return id;
}

/**
 * Builds the `nestjs-opaque-keys` program. Each command runs in a Nest
 * application context on the host's database (see {@link withApiKeyService}).
 * The plaintext key is printed by `issue` and `rotate` only, once.
 */
export function createProgram(streams: CliStreams): Command {
  const program = new Command('nestjs-opaque-keys')
    .description('Manage API keys in the database of a Nest app that uses nestjs-opaque-keys.')
    .requiredOption(
      '-d, --data-source <file>',
      'module exporting the TypeORM DataSource (default export or "dataSource")',
      process.env.API_KEYS_DATA_SOURCE,
    )
    .option('--prefix <prefix>', 'key prefix for new keys (env API_KEY_PREFIX, default sk)', process.env.API_KEY_PREFIX)
    .option('--table <name>', 'table holding the keys (env API_KEY_TABLE, default api_keys)', process.env.API_KEY_TABLE)
    .option('--json', 'print JSON for scripts instead of tables')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: streams.stdout, writeErr: streams.stderr });

  /** Registers an action that gets the service and the output. */
  const action =
    (work: (service: ApiKeyService, out: Output, ...args: any[]) => Promise<unknown>) =>
    async (...args: any[]) => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      const out: Output = {
        json: Boolean(globals.json),
        write: (text) => streams.stdout(`${text}\n`),
        globals,
      };
      const dataSource = await loadDataSourceOptions(globals.dataSource);
      await withApiKeyService({ dataSource, prefix: globals.prefix, tableName: globals.table }, (service, ds) =>
        work(service, { ...out, dataSource: ds }, ...args.slice(0, -1)),
      );
    };

  program
    .command('issue')
    .description('issue a key; prints the plaintext key once')
    .requiredOption('--name <name>', 'a name people recognise')
    .requiredOption('--scopes <a,b>', 'comma-separated scopes (may be empty: "")')
    .option('--owner <id>', 'owner id')
    .option('--expires-at <iso-date>', 'expiry, e.g. 2030-01-01T00:00:00Z')
    .action(
      action(async (service, out, opts) => {
        await assertIssuePrefix(out.dataSource!, out.globals?.table, out.globals?.prefix);
        const issued = await service.issue({
          name: opts.name,
          scopes: scopesOf(opts.scopes),
          ownerId: opts.owner,
          expiresAt: dateOf(opts.expiresAt),
          actor: cliActor(),
        });
        emit(
          out,
          issued,
          () => `${recordDetails(issued.record)}\n\nKey (shown only this once, store it now):\n${issued.key}`,
        );
      }),
    );

  program
    .command('list')
    .description('list keys, newest first')
    .option('--owner <id>', 'only this owner')
    .option('--limit <n>', 'page size, 1 to 100', '50')
    .option('--offset <n>', 'rows to skip', '0')
    .action(
      action(async (service, out, opts) => {
        const page = await service.list({
          ownerId: opts.owner,
          limit: integerOf('limit', opts.limit),
          offset: integerOf('offset', opts.offset),
        });
        emit(
          out,
          page,
          () => `${recordsTable(page.items)}\n\n${page.items.length} of ${page.total} key(s), offset ${page.offset}`,
        );
      }),
    );

  program
    .command('show <id>')
    .description('show one key')
    .action(
      action(async (service, out, id: string) => {
        const record = await service.get(keyId(id));
        emit(out, record, () => recordDetails(record));
      }),
    );

  program
    .command('rotate <id>')
    .description('replace a key by a successor; prints the new plaintext key once')
    .option('--grace-seconds <n>', 'keep the old key valid this long (default: revoke it now)', '0')
    .action(
      action(async (service, out, id: string, opts) => {
        const rotated = await service.rotate(keyId(id), {
          gracePeriodMs: integerOf('grace-seconds', opts.graceSeconds)! * 1000,
          actor: cliActor(),
        });
        emit(
          out,
          rotated,
          () =>
            `${recordDetails(rotated.record)}\n\nReplaces ${rotated.previous.id}.\nKey (shown only this once, store it now):\n${rotated.key}`,
        );
      }),
    );

  program
    .command('revoke <id>')
    .description('revoke a key now')
    .option('--reason <text>', 'why, kept with the key')
    .action(
      action(async (service, out, id: string, opts) => {
        const record = await service.revoke(keyId(id), opts.reason, { actor: cliActor() });
        emit(out, record, () => recordDetails(record));
      }),
    );

  program
    .command('update-scopes <id>')
    .description("replace a key's scopes; the next request sees them")
    .requiredOption('--scopes <a,b>', 'comma-separated scopes (may be empty: "")')
    .action(
      action(async (service, out, id: string, opts) => {
        const record = await service.updateScopes(keyId(id), scopesOf(opts.scopes), { actor: cliActor() });
        emit(out, record, () => recordDetails(record));
      }),
    );

  program
    .command('doctor')
    .description(
      'check the database: tables, columns, the unique hash index, migrations run, and --prefix against the keys; ' +
        'prints each problem with its fix (exit 0 healthy, 7 warnings, 6 errors, 5 no database)',
    )
    .action(async (_opts: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      const findings = await diagnose({
        dataSource: await loadDataSourceOptions(globals.dataSource),
        dataSourceFile: globals.dataSource,
        prefix: globals.prefix || 'sk',
        tableName: globals.table || undefined,
      });
      streams.stdout(`${globals.json ? JSON.stringify(findings, null, 2) : renderFindings(findings)}\n`);
      const code = doctorExitCode(findings);
      if (code !== ExitCode.ok) throw new CliError('', code);
    });

  return program;
}

/** Runs the CLI on `argv` (without node and script) and returns the exit code; never throws. */
export async function runCli(argv: string[], streams: CliStreams): Promise<number> {
  try {
    await createProgram(streams).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
        ? ExitCode.ok
        : ExitCode.usage;
    }
    const message =
      error instanceof ApiKeyStoreUnavailableError
        ? `database unavailable: ${(error.cause as Error | undefined)?.message ?? error.message}`
        : (error as Error).message;
    if (message) streams.stderr(`error: ${message}\n`);
    return exitCodeOf(error);
  }
}
