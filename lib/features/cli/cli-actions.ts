import { userInfo } from 'node:os';
import { ApiKeyValidationError } from '../../api-key.errors.js';
import { API_KEY_STATUSES, type ApiKeyStatus } from '../../lifecycle/api-key.record.js';
import { readLastAddress } from '../last-address/index.js';
import { CLI_COMMANDS } from './cli-commands.js';
import { withApiKeyService, type CliSession } from './cli-context.js';
import { durationText } from './cli-key-format.js';
import { loadDataSourceOptions } from './data-source-loader.js';
import { diagnose, doctorExitCode, renderFindings } from './doctor.js';
import { CliError, ExitCode } from './exit-codes.js';
import { importAction, importFeatureOf } from './cli-import.js';
import { prefixHint } from './key-prefixes.js';
import { emit, recordDetails, recordsTable, type CliStreams, type Output } from './output.js';

/** A command's option values by long name, and its arguments. */
type Values = Readonly<Record<string, string | boolean | undefined>>;

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

function statusFilterOf(value: string | undefined): ApiKeyStatus | undefined {
  if (value === undefined || API_KEY_STATUSES.includes(value as ApiKeyStatus)) return value as ApiKeyStatus | undefined;
  throw new CliError(
    `--status must be one of ${API_KEY_STATUSES.join(', ')}; got ${JSON.stringify(value)}`,
    ExitCode.validation,
  );
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

/** The app's lifetime policy beside a refused `--expires-at`, so the operator sees the bound. */
function withPolicy(error: unknown, session: CliSession): unknown {
  const max = session.format.options.maxLifetimeMs;
  if (!(error instanceof ApiKeyValidationError) || !/^(expiresAt|keys must expire)/.test(error.message) || !max)
    return error;
  return new CliError(
    `--expires-at: ${error.message} (the app's maximum key lifetime is ${durationText(max)})`,
    ExitCode.validation,
  );
}

/** What a command does with the service (the plaintext key is printed by `issue` and `rotate` only, once). */
const ACTIONS: Record<
  string,
  (session: CliSession, out: Output, values: Values, args: readonly string[]) => Promise<void>
> = {
  async issue(session, out, values) {
    const { format, service } = session;
    const refusal = format.issueRefusal ?? format.mintRefusal;
    if (refusal) {
      const hint = format.unrecorded ? await prefixHint(session.dataSource, out.table) : '';
      throw new CliError(refusal + hint, ExitCode.usage);
    }
    for (const note of format.notes) out.note(note);
    const issued = await service
      .issue({
        name: values.name as string,
        scopes: scopesOf(values.scopes as string),
        ownerId: values.owner as string | undefined,
        environment: format.environment,
        expiresAt: dateOf(values['expires-at'] as string | undefined),
        actor: cliActor(),
      })
      .catch((error: unknown) => Promise.reject(withPolicy(error, session)));
    emit(
      out,
      issued,
      () => `${recordDetails(issued.record)}\n\nKey (shown only this once, store it now):\n${issued.key}`,
    );
  },
  async list({ service }, out, values) {
    const page = await service.list({
      ownerId: values.owner as string | undefined,
      status: statusFilterOf(values.status as string | undefined),
      limit: integerOf('limit', values.limit as string),
      offset: integerOf('offset', values.offset as string),
    });
    emit(
      out,
      page,
      () => `${recordsTable(page.items)}\n\n${page.items.length} of ${page.total} key(s), offset ${page.offset}`,
    );
  },
  async show({ service, dataSource }, out, _values, [id]) {
    const record = await service.get(keyId(id));
    // Where it was last used from, when the app records it (withLastAddress(): its table exists).
    const from = await readLastAddress(dataSource, record.id, out.table);
    if (from === undefined) return emit(out, record, () => recordDetails(record));
    const line = from ? `${from.address} (${from.usedAt.toISOString()})` : '-';
    emit(out, { ...record, lastUsedFrom: from }, () => recordDetails(record, [['last used from', line]]));
  },
  async rotate(session, out, values, [id]) {
    if (session.format.mintRefusal) throw new CliError(session.format.mintRefusal, ExitCode.usage);
    for (const note of session.format.notes) out.note(note);
    const rotated = await session.service.rotate(keyId(id), {
      gracePeriodMs: integerOf('grace-seconds', values['grace-seconds'] as string)! * 1000,
      actor: cliActor(),
    });
    emit(
      out,
      rotated,
      () =>
        `${recordDetails(rotated.record)}\n\nReplaces ${rotated.previous.id}.\nKey (shown only this once, store it now):\n${rotated.key}`,
    );
  },
  async revoke({ service }, out, values, [id]) {
    const record = await service.revoke(keyId(id), values.reason as string | undefined, { actor: cliActor() });
    emit(out, record, () => recordDetails(record));
  },
  async 'update-scopes'({ service }, out, values, [id]) {
    const record = await service.updateScopes(keyId(id), scopesOf(values.scopes as string), { actor: cliActor() });
    emit(out, record, () => recordDetails(record));
  },
  import: (session, out, values) => importAction(session, out, values, cliActor()),
};

/**
 * Runs a parsed command: `doctor` on its own connection, the others in a
 * session on the service. Loaded by `runCli` only for a command to run, so
 * that help and usage errors answer without loading Nest and TypeORM.
 */
export async function runCommand(
  name: string,
  values: Values,
  args: readonly string[],
  streams: CliStreams,
): Promise<void> {
  const file = values['data-source'] as string;
  const table = (values.table as string | undefined) || undefined;
  const flags = {
    prefix: (values.prefix as string | undefined) || undefined,
    environment: values.environment as string | undefined,
    tagSecret: process.env.API_KEY_TAG_SECRET || undefined,
  };
  const json = Boolean(values.json);
  const dataSource = await loadDataSourceOptions(file);
  if (name === CLI_COMMANDS.doctor.name) {
    const findings = await diagnose({ dataSource, dataSourceFile: file, flags, tableName: table });
    streams.stdout(`${json ? JSON.stringify(findings, null, 2) : renderFindings(findings)}\n`);
    const code = doctorExitCode(findings);
    if (code !== ExitCode.ok) throw new CliError('', code);
    return;
  }
  const out: Output = {
    json,
    table,
    write: (text) => streams.stdout(`${text}\n`),
    note: (text) => streams.stderr(`note: ${text}\n`),
  };
  const features = name === CLI_COMMANDS.import.name ? [importFeatureOf(values)] : undefined;
  await withApiKeyService({ dataSource, tableName: table, flags, features }, (session) =>
    ACTIONS[name](session, out, values, args),
  );
}
