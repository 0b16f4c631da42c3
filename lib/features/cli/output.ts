import { apiKeyStatus, type ApiKeyRecord } from '../../lifecycle/api-key.record.js';

/** Where the CLI writes: stdout for results, stderr for errors. */
export interface CliStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Where results go: JSON for scripts, or aligned text for people; notes to stderr. */
export interface Output {
  json: boolean;
  /** The `--table` option, for checks beside the service. */
  table?: string;
  write(text: string): void;
  /** Something the operator should know about the result (stderr, so JSON on stdout stays whole). */
  note(text: string): void;
}

function iso(date: Date | null | undefined): string {
  return date ? new Date(date).toISOString() : '-';
}

/**
 * A key's state for people: the service's (revoked, disabled, expired, used-up, active: the first that holds,
 * as `list --status` filters), with `rotated` for an active key whose successor exists (in its grace period).
 */
export function statusOf(record: ApiKeyRecord, now = Date.now()): string {
  const status = apiKeyStatus(record, now);
  return status === 'active' && record.replacedById ? 'rotated' : status;
}

/** Left-aligned columns, two spaces apart, with a header row. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Keys as a table: id, name, owner, hint, scopes, status, expiry, last use. */
export function recordsTable(records: ApiKeyRecord[]): string {
  const headers = ['ID', 'NAME', 'OWNER', 'HINT', 'SCOPES', 'STATUS', 'EXPIRES', 'LAST USED'];
  return table(
    headers,
    records.map((r) => [
      r.id,
      r.name,
      r.ownerId ?? '-',
      r.hint,
      r.scopes.join(',') || '-',
      statusOf(r),
      iso(r.expiresAt),
      iso(r.lastUsedAt),
    ]),
  );
}

/** One key as aligned `field  value` lines; `extra` rows (a feature's) follow its last use. */
export function recordDetails(record: ApiKeyRecord, extra: readonly [string, string][] = []): string {
  const rows: [string, string][] = [
    ['id', record.id],
    ['name', record.name],
    ['owner', record.ownerId ?? '-'],
    ['hint', record.hint],
    ['scopes', record.scopes.join(',') || '-'],
    ['status', statusOf(record)],
    ['created', iso(record.createdAt)],
    ['expires', iso(record.expiresAt)],
    [
      'revoked',
      record.revokedAt ? `${iso(record.revokedAt)}${record.revokedReason ? ` (${record.revokedReason})` : ''}` : '-',
    ],
    ['replaced by', record.replacedById ?? '-'],
    ['last used', iso(record.lastUsedAt)],
    ...extra,
    ['metadata', record.metadata ? JSON.stringify(record.metadata) : '-'],
  ];
  const width = Math.max(...rows.map(([field]) => field.length));
  return rows.map(([field, value]) => `${field.padEnd(width)}  ${value}`).join('\n');
}

/** Prints a result as JSON, or with the given human rendering. */
export function emit(out: Output, value: unknown, human: () => string): void {
  out.write(out.json ? JSON.stringify(value, null, 2) : human());
}
