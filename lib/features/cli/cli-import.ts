import { readFile } from 'node:fs/promises';
import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import {
  ApiKeyImporter,
  betterAuthFormat,
  drfFormat,
  withImport,
  type ApiKeyImportReport,
  type ApiKeyImportSource,
  type LegacyHashKind,
  type LegacyKeyFormat,
} from '../import/index.js';
import type { CliSession } from './cli-context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { emit, type Output } from './output.js';

type Values = Readonly<Record<string, string | boolean | undefined>>;

const SOURCES: readonly ApiKeyImportSource[] = ['better-auth', 'drf', 'sha256-table'];

/** The source named by `--from`. */
function sourceOf(values: Values): ApiKeyImportSource {
  const from = values.from as string;
  if (!SOURCES.includes(from as ApiKeyImportSource))
    throw new CliError(`--from must be one of ${SOURCES.join(', ')}; got ${JSON.stringify(from)}`, ExitCode.usage);
  return from as ApiKeyImportSource;
}

/**
 * The import feature the `import` command's session runs with: one format, named and hashed as the app's
 * `withImport()` lists it (only its name, hash kind and environment matter to an import).
 */
export function importFeatureOf(values: Values): ApiKeyFeature {
  const from = sourceOf(values);
  const environment = (values.environment as string | undefined) || undefined;
  const name = (values.format as string | undefined) || from;
  let format: LegacyKeyFormat;
  if (from === 'better-auth') format = { ...betterAuthFormat({ environment }), name };
  else if (from === 'drf') format = { ...drfFormat({ environment }), name };
  else {
    const hash = values.hash as LegacyHashKind;
    if (!['sha256-hex', 'sha256-base64', 'sha256-base64url'].includes(hash))
      throw new CliError('--hash must be sha256-hex, sha256-base64 or sha256-base64url', ExitCode.usage);
    format = { name, prefix: '', length: { min: 16, max: 256 }, hash, ...(environment ? { environment } : {}) };
  }
  return withImport({ formats: [format] });
}

/** The rows of a JSON export: an array of objects, or one object per line. */
export async function readRows(file: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`--file: cannot read ${file}: ${(error as Error).message}`, ExitCode.usage);
  }
  try {
    if (text.trimStart().startsWith('[')) return JSON.parse(text) as Record<string, unknown>[];
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  } catch (error) {
    throw new CliError(`--file: not JSON rows: ${(error as Error).message}`, ExitCode.usage);
  }
}

/** The report as text: the counts, then each changed and refused row. */
function reportText(report: ApiKeyImportReport): string {
  const lines = [
    `${report.imported.length} imported, ${report.unchanged} unchanged, ${report.changed.length} changed, ` +
      `${report.refused.length} refused (from ${report.source})`,
    ...report.changed.map(
      (row) =>
        `changed  row ${row.index} (${row.sourceId}) key ${row.keyId}: ` +
        (row.revoked ? 'revoked in the source, revoked here' : 'differs from the import; not applied'),
    ),
    ...report.refused.map((row) => `refused  row ${row.index} (${row.sourceId ?? 'no id'}): ${row.reason}`),
  ];
  return lines.join('\n');
}

/** `import`: reads the rows, imports them, prints the report; exit 4 when a row was refused. */
export async function importAction(session: CliSession, out: Output, values: Values, actor: string): Promise<void> {
  const rows = await readRows(values.file as string);
  if (!Array.isArray(rows)) throw new CliError('--file: expected an array of rows', ExitCode.usage);
  const scopes = typeof values.scopes === 'string' ? values.scopes.split(',').filter(Boolean) : undefined;
  const report = await session.get(ApiKeyImporter).import({
    from: sourceOf(values),
    format: (values.format as string | undefined) || undefined,
    rows,
    scopes: scopes?.map((scope) => scope.trim()),
    ownerColumn: (values['owner-column'] as string | undefined) || undefined,
    actor,
  });
  emit(out, report, () => reportText(report));
  if (report.refused.length > 0)
    throw new CliError(
      `${report.refused.length} row(s) refused: fix them and run the import again`,
      ExitCode.validation,
    );
}
