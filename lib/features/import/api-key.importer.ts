import { Inject, Injectable } from '@nestjs/common';
import { In, IsNull } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ApiKeyValidationError } from '../../api-key.errors.js';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyChanges, type KeyChange } from '../../lifecycle/api-key.changes.js';
import type { ApiKeyColumns } from '../../storage/api-key.entity.js';
import { API_KEY_IMPORT_ENTITY, type ApiKeyImportColumns } from './api-key-import.entity.js';
import { API_KEY_IMPORT_OPTIONS, type ResolvedImportOptions, type ResolvedLegacyFormat } from './import.options.js';
import { fingerprintOf, insertInChunks, keyRow } from './imported-key-row.js';
import { legacyEnvironment, nativePrefixOf } from './imported-legacy-keys.js';
import {
  mapSourceRow,
  UnmappableRowError,
  type ApiKeyImportSource,
  type ImportCandidate,
  type ImportMapping,
} from './import-sources.js';

/** What to import: the source system, its rows as its table holds them, and how to read them. */
export interface ApiKeyImportRequest extends ImportMapping {
  /** The system the rows come from. */
  from: ApiKeyImportSource;
  /** The rows, one object per row, with the source table's column names. */
  rows: readonly Readonly<Record<string, unknown>>[];
  /** The configured legacy format its keys have (`withImport({ formats })`); default the one named as `from`. */
  format?: string;
  /** Who imports, for the audit trail. */
  actor?: string;
}

/** A row that was not imported, and why. */
export interface ApiKeyImportRefusal {
  /** Its position in `rows`. */
  readonly index: number;
  readonly sourceId: string | null;
  readonly reason: string;
}

/** What an import did: every row is in exactly one of its lists or counts. */
export interface ApiKeyImportReport {
  readonly source: string;
  /** Rows imported now, with the id of the key each became. */
  readonly imported: readonly { readonly sourceId: string; readonly keyId: string }[];
  /** Rows imported before, unchanged since. */
  readonly unchanged: number;
  /**
   * Rows imported before that changed in the source since: not applied (the key may have changed here too),
   * except a revocation, which is carried over (`revoked: true`).
   */
  readonly changed: readonly {
    readonly index: number;
    readonly sourceId: string;
    readonly keyId: string;
    readonly revoked: boolean;
  }[];
  /** Rows that cannot be mapped or stored, with the reason. */
  readonly refused: readonly ApiKeyImportRefusal[];
}

/** Rows written per change (one transaction, a few multi-row statements). */
export const IMPORT_ROWS_PER_CHANGE = 500;

/**
 * Imports keys from another system's table so their holders keep the strings they have: each row becomes a key
 * with its name, owner, scopes, expiry, revocation, remaining uses and metadata, and its hash converted (SHA-256
 * sources) or kept for the first use (others). Idempotent: a row is found again by its source id; a re-run
 * imports only new rows and reports changed ones. Every row ends in the report; none is skipped silently.
 */
@Injectable()
export class ApiKeyImporter {
  constructor(
    @Inject(API_KEY_IMPORT_OPTIONS) private readonly options: ResolvedImportOptions,
    @Inject(API_KEY_OPTIONS) private readonly keyOptions: ResolvedApiKeyOptions,
    private readonly changes: ApiKeyChanges,
    @Inject(API_KEY_IMPORT_ENTITY) private readonly imports: typeof ApiKeyImportColumns,
  ) {}

  /**
   * Imports `request.rows`, {@link IMPORT_ROWS_PER_CHANGE} per transaction.
   * @throws ApiKeyValidationError for an unknown source or format; ApiKeyStoreUnavailableError
   */
  async import(request: ApiKeyImportRequest): Promise<ApiKeyImportReport> {
    const formatName = request.format ?? request.from;
    const at = this.options.formats.findIndex((format) => format.name === formatName);
    if (at < 0) throw new ApiKeyValidationError(`no legacy format ${JSON.stringify(formatName)} in withImport()`);
    if (!['better-auth', 'drf', 'sha256-table'].includes(request.from))
      throw new ApiKeyValidationError('from must be better-auth, drf or sha256-table');
    if (!Array.isArray(request.rows)) throw new ApiKeyValidationError('rows must be an array');
    const format = this.options.formats[at];
    const prefix = nativePrefixOf(this.keyOptions, legacyEnvironment(this.keyOptions, format.environment, at));
    const report = { source: format.name, imported: [], unchanged: 0, changed: [], refused: [] } as Mutable;
    const seen = new Set<string>();
    for (let start = 0; start < request.rows.length; start += IMPORT_ROWS_PER_CHANGE) {
      const batch: { index: number; candidate: ImportCandidate }[] = [];
      request.rows.slice(start, start + IMPORT_ROWS_PER_CHANGE).forEach((row, offset) => {
        const index = start + offset;
        try {
          const candidate = mapSourceRow(request.from, format, row, request);
          if (seen.has(candidate.sourceId)) throw new UnmappableRowError('its id is listed twice');
          seen.add(candidate.sourceId);
          batch.push({ index, candidate });
        } catch (error) {
          if (!(error instanceof UnmappableRowError)) throw error;
          report.refused.push({ index, sourceId: sourceIdOf(row), reason: error.message });
        }
      });
      if (batch.length > 0)
        await this.changes.run((change) => this.store(change, format, prefix, batch, request, report));
    }
    report.refused.sort((a, b) => a.index - b.index);
    return report;
  }

  /** One batch in one change: new rows inserted, known ones compared, colliding ones refused. */
  private async store(
    change: KeyChange,
    format: ResolvedLegacyFormat,
    prefix: string,
    batch: readonly { index: number; candidate: ImportCandidate }[],
    request: ApiKeyImportRequest,
    report: Mutable,
  ): Promise<void> {
    const { em, now } = change;
    const keys = this.changes.db.keys;
    const known = new Map(
      (
        await em.find(this.imports, {
          where: { source: format.name, sourceId: In(batch.map(({ candidate }) => candidate.sourceId)) },
          select: { keyId: true, sourceId: true, fingerprint: true },
        })
      ).map((row) => [row.sourceId, row]),
    );
    const fresh = batch.filter(({ candidate }) => !known.has(candidate.sourceId));
    const taken = new Set(
      fresh.length === 0
        ? []
        : (
            await em.find(keys, {
              where: { hash: In(fresh.map(({ candidate }) => candidate.hash)) },
              select: { id: true, hash: true },
            })
          ).map((row) => row.hash),
    );
    const rows: ApiKeyColumns[] = [];
    const imports: ApiKeyImportColumns[] = [];
    for (const { index, candidate } of batch) {
      const fingerprint = fingerprintOf(candidate);
      const previous = known.get(candidate.sourceId);
      if (previous) {
        if (previous.fingerprint === fingerprint) report.unchanged++;
        else {
          const revoked = candidate.revoked && (await this.carryRevocation(change, previous.keyId, format, request));
          report.changed.push({ index, sourceId: candidate.sourceId, keyId: previous.keyId, revoked });
        }
      } else if (taken.has(candidate.hash)) {
        report.refused.push({
          index,
          sourceId: candidate.sourceId,
          reason: 'a key with the same hash is stored already',
        });
      } else {
        taken.add(candidate.hash);
        const row = keyRow(candidate, prefix, format.name, now);
        rows.push(row);
        imports.push({
          keyId: row.id,
          source: format.name,
          sourceId: candidate.sourceId,
          fingerprint,
          foreignHash: candidate.foreignHash,
          importedAt: new Date(now),
        });
        change.record({
          keyId: row.id,
          ownerId: row.ownerId,
          type: 'issued',
          actor: request.actor,
          details: {
            importedFrom: format.name,
            sourceId: candidate.sourceId,
            scopes: row.scopes,
            expiresAt: row.expiresAt,
          },
        });
        report.imported.push({ sourceId: candidate.sourceId, keyId: row.id });
      }
    }
    if (rows.length === 0) return;
    await insertInChunks(em, keys, rows);
    await insertInChunks(em, this.imports, imports);
  }

  /** Revokes an imported key its source has revoked since (a revocation is always safe to carry over). */
  private async carryRevocation(
    { em, now, record, invalidate }: KeyChange,
    keyId: string,
    format: ResolvedLegacyFormat,
    request: ApiKeyImportRequest,
  ): Promise<boolean> {
    const reason = `revoked in ${format.name}`;
    const result = await em.update(
      this.changes.db.keys,
      { id: keyId, revokedAt: IsNull() },
      { revokedAt: new Date(now), revokedReason: reason },
    );
    if (!result.affected) return false;
    const row = await em.findOne(this.changes.db.keys, { where: { id: keyId }, select: { ownerId: true } });
    record({ keyId, ownerId: row?.ownerId ?? null, type: 'revoked', actor: request.actor, details: { reason } });
    invalidate([keyId]);
    return true;
  }
}

/** The report while it is filled in. */
type Mutable = {
  -readonly [K in keyof ApiKeyImportReport]: ApiKeyImportReport[K] extends readonly (infer T)[]
    ? T[]
    : ApiKeyImportReport[K];
};

/** The source id of a row that could not be mapped, when it has a readable one. */
function sourceIdOf(row: unknown): string | null {
  const id = (row as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id).slice(0, 255) : null;
}
