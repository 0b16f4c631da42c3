import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { asStoreUnavailable } from '../../api-key.errors.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import {
  API_KEY_USAGE_ENTITY,
  UNKNOWN_KEYS_ID,
  type ApiKeyUsageColumns,
  type ApiKeyUsageOutcome,
} from './api-key-usage.entity.js';
import { API_KEY_USAGE_OPTIONS, type ResolvedUsageOptions } from './usage.options.js';

const HOUR_MS = 3_600_000;
const OUTCOMES: readonly ApiKeyUsageOutcome[] = ['verified', 'invalid', 'forbidden', 'rate_limited', 'out_of_credits'];
const OUTCOME_INDEX: Readonly<Record<ApiKeyUsageOutcome, number>> = {
  verified: 0,
  invalid: 1,
  forbidden: 2,
  rate_limited: 3,
  out_of_credits: 4,
};
const INVALID = OUTCOME_INDEX.invalid;
/** Pending counts: by bucket (hours since the epoch), by key id, one count per outcome (OUTCOMES' order). */
type Pending = Map<number, Map<string, number[]>>;
/** Rows per upsert statement: at most one statement per flush up to this many (key, bucket, outcome) counts. */
export const USAGE_ROWS_PER_STATEMENT = 1000;

/**
 * Per-key usage counts (`withUsage()`): the request path adds to a count in
 * memory (O(1), no I/O); a timer writes every count of the interval in one
 * upsert that adds to the stored count (`ON CONFLICT ... DO UPDATE SET count =
 * count + excluded.count`, MySQL `ON DUPLICATE KEY UPDATE`). Unknown keys add
 * to one count under `*`, so a flood of forged keys adds no row. Flushed on
 * shutdown; a crash loses at most one interval. A failed write is kept and retried.
 */
@Injectable()
export class ApiKeyUsageRecorder implements ApiKeyVerificationHook, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('ApiKeyUsage');
  private pending: Pending = new Map();
  /** The bucket of the last `record`, and its map: most calls land in the current hour. */
  private lastHour: number | undefined;
  private lastByKey: Map<string, number[]> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private purgeTimer: ReturnType<typeof setInterval> | undefined;
  private readonly bucketMs: number;
  private sql: { table: string; columns: string; conflict: (placeholders: string) => string } | undefined;
  private readonly dataSource: DataSource;

  constructor(
    @Inject(API_KEY_USAGE_OPTIONS) private readonly options: ResolvedUsageOptions,
    db: ApiKeyDatabase,
    @Inject(API_KEY_USAGE_ENTITY) private readonly entity: typeof ApiKeyUsageColumns,
  ) {
    this.dataSource = db.dataSource;
    this.bucketMs = options.granularity === 'day' ? 24 * HOUR_MS : HOUR_MS;
    if (options.retentionMs)
      this.purgeTimer = setInterval(() => void this.purge().catch(() => undefined), HOUR_MS).unref();
  }

  /** The verification hook: every outcome but a store failure is counted. */
  ended(_context: unknown, outcome: VerificationOutcome, keyId: string | undefined): void {
    if (outcome !== 'unavailable') this.record(keyId, outcome);
  }

  /** Counts one request of `keyId` (`undefined`/`null`: an unknown key) with `outcome`. O(1), no I/O. */
  record(keyId: string | null | undefined, outcome: ApiKeyUsageOutcome, now: number = Date.now()): void {
    const hour = Math.floor(now / this.bucketMs) * (this.bucketMs / HOUR_MS);
    let byKey = hour === this.lastHour ? this.lastByKey! : this.pending.get(hour);
    if (!byKey) this.pending.set(hour, (byKey = new Map()));
    this.lastHour = hour;
    this.lastByKey = byKey;
    const id = keyId || UNKNOWN_KEYS_ID;
    let counts = byKey.get(id);
    if (!counts) byKey.set(id, (counts = [0, 0, 0, 0, 0]));
    counts[keyId ? OUTCOME_INDEX[outcome] : INVALID]++;
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
  }

  /** Counts noted and not yet written (key, bucket, outcome entries). */
  get pendingEntries(): number {
    return this.rows(this.pending).length;
  }

  /** Writes every pending count now: one statement per {@link USAGE_ROWS_PER_STATEMENT} entries. Never throws. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.lastHour = undefined;
    this.lastByKey = undefined;
    const rows = this.rows(batch);
    try {
      for (let i = 0; i < rows.length; i += USAGE_ROWS_PER_STATEMENT)
        await this.upsert(rows.slice(i, i + USAGE_ROWS_PER_STATEMENT));
    } catch (error) {
      this.logger.warn(
        `could not write usage counts (${rows.length} entries, kept for the next flush): ${(error as Error).message}`,
      );
      for (const [keyId, hour, outcome, count] of rows) {
        let byKey = this.pending.get(hour);
        if (!byKey) this.pending.set(hour, (byKey = new Map()));
        let counts = byKey.get(keyId);
        if (!counts) byKey.set(keyId, (counts = [0, 0, 0, 0, 0]));
        counts[OUTCOME_INDEX[outcome]] += count;
      }
      this.lastHour = undefined;
      this.timer ??= setTimeout(() => void this.flush(), this.options.flushIntervalMs).unref();
    }
  }

  /** The non-zero counts of `batch` as rows: key id, hour, outcome, count. */
  private rows(batch: Pending): [string, number, ApiKeyUsageOutcome, number][] {
    const rows: [string, number, ApiKeyUsageOutcome, number][] = [];
    for (const [hour, byKey] of batch)
      for (const [keyId, counts] of byKey)
        counts.forEach((count, index) => count > 0 && rows.push([keyId, hour, OUTCOMES[index], count]));
    return rows;
  }

  /** Deletes rows older than the retention. Returns how many went. */
  async purge(now: number = Date.now()): Promise<number> {
    const retention = this.options.retentionMs;
    if (!retention) return 0;
    const cutoff = Math.floor((now - retention) / HOUR_MS);
    try {
      const result = await this.dataSource
        .createQueryBuilder()
        .delete()
        .from(this.entity)
        .where('hour < :cutoff', { cutoff })
        .execute();
      return result.affected ?? 0;
    } catch (cause) {
      throw asStoreUnavailable(cause);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    await this.flush();
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
  }

  private async upsert(rows: readonly (readonly [string, number, ApiKeyUsageOutcome, number])[]): Promise<void> {
    const sql = (this.sql ??= this.statementParts());
    const postgres = this.dataSource.options.type === 'postgres';
    let n = 0;
    const placeholders = rows
      .map(() => `(${[0, 1, 2, 3].map(() => (postgres ? `$${++n}` : '?')).join(', ')})`)
      .join(', ');
    await this.dataSource.query(sql.conflict(placeholders), rows.flat());
  }

  /** The upsert's SQL around its VALUES, in the driver's dialect, with the naming strategy's names. */
  private statementParts(): { table: string; columns: string; conflict: (placeholders: string) => string } {
    const { driver } = this.dataSource;
    const metadata = this.dataSource.getMetadata(this.entity);
    const escape = (name: string) => driver.escape(name);
    const name = (property: string) => escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    const table = metadata.tablePath
      .split('.')
      .map((part) => escape(part))
      .join('.');
    const [keyId, hour, outcome, count] = ['keyId', 'hour', 'outcome', 'count'].map(name);
    const columns = `(${keyId}, ${hour}, ${outcome}, ${count})`;
    const type = this.dataSource.options.type;
    const mysql = type === 'mysql' || type === 'mariadb';
    return {
      table,
      columns,
      conflict: (placeholders) =>
        mysql
          ? `INSERT INTO ${table} ${columns} VALUES ${placeholders} ON DUPLICATE KEY UPDATE ${count} = ${count} + VALUES(${count})`
          : `INSERT INTO ${table} AS u ${columns} VALUES ${placeholders} ` +
            `ON CONFLICT (${keyId}, ${hour}, ${outcome}) DO UPDATE SET ${count} = u.${count} + excluded.${count}`,
    };
  }
}
