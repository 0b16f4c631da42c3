import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import type { ApiKeyVerificationHook, VerificationOutcome } from '../../verification/verification-hook.js';
import { API_KEY_LAST_ADDRESS_ENTITY, type ApiKeyLastAddressColumns } from './api-key-last-address.entity.js';
import { storedAddressOf } from './client-address.js';
import { API_KEY_LAST_ADDRESS_OPTIONS, type ResolvedLastAddressOptions } from './last-address.options.js';

/** Rows per upsert statement: one statement per flush up to this many keys. */
export const LAST_ADDRESS_ROWS_PER_STATEMENT = 1000;

/** The latest use of one key noted in memory: the address as the transport gave it, and when (ms). */
type Noted = { address: string; at: number };

/**
 * Where each key was last used from (`withLastAddress()`): a verification hook that asks the guard for the
 * transport's client address (`wantsAddress`; never a header), keeps the latest per key in memory (O(1), no
 * I/O: a Map entry per key, overwritten), and writes them behind on a timer, in one upsert per flush (up to
 * {@link LAST_ADDRESS_ROWS_PER_STATEMENT} keys): `ON CONFLICT ... DO UPDATE` (PostgreSQL, SQLite) or
 * `ON DUPLICATE KEY UPDATE` (MySQL, MariaDB), keeping the newer use when instances race. The address is
 * normalised (and truncated, with `truncate`) at the flush, off the request path. Flushed on shutdown; a
 * failed write is kept and retried.
 *
 * Its own batcher rather than the core's `IntervalBatcher`: that one keeps the first entry of an interval and
 * skips keys written less than an interval ago, which suits `lastUsedAt` but would keep a stale address.
 */
@Injectable()
export class ApiKeyLastAddressRecorder implements ApiKeyVerificationHook, BeforeApplicationShutdown, OnModuleDestroy {
  /** The guard reads the client's address for this hook. */
  readonly wantsAddress = true;
  private readonly logger = new Logger('ApiKeyLastAddress');
  private pending = new Map<string, Noted>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly intervalMs: number;
  private readonly dataSource: DataSource;
  private sql: ((placeholders: string) => string) | undefined;

  constructor(
    @Inject(API_KEY_LAST_ADDRESS_OPTIONS) private readonly options: ResolvedLastAddressOptions,
    @Inject(API_KEY_OPTIONS) keyOptions: ResolvedApiKeyOptions,
    db: ApiKeyDatabase,
    @Inject(API_KEY_LAST_ADDRESS_ENTITY) private readonly entity: typeof ApiKeyLastAddressColumns,
  ) {
    this.dataSource = db.dataSource;
    this.intervalMs = options.flushIntervalMs ?? (keyOptions.lastUsedIntervalMs || 60_000);
  }

  /** The verification hook: notes the address of each verified request that has one. */
  ended(_context: unknown, outcome: VerificationOutcome, keyId: string | undefined, address?: string): void {
    if (outcome === 'verified' && keyId !== undefined && typeof address === 'string') this.note(keyId, address);
  }

  /** Notes that `keyId` was used from `address` at `now`, replacing an older note. O(1), no I/O. */
  note(keyId: string, address: string, now: number = Date.now()): void {
    const noted = this.pending.get(keyId);
    if (noted === undefined) this.pending.set(keyId, { address, at: now });
    else if (now >= noted.at) {
      noted.address = address;
      noted.at = now;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
  }

  /** Keys noted and not yet written. */
  get pendingKeys(): number {
    return this.pending.size;
  }

  /** Writes every noted address now: one statement per {@link LAST_ADDRESS_ROWS_PER_STATEMENT} keys. Never throws. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const rows: [string, string, number][] = [];
    for (const [keyId, { address, at }] of batch) {
      const stored = storedAddressOf(address, this.options.prefixes);
      if (stored !== undefined) rows.push([keyId, stored, at]);
    }
    try {
      for (let i = 0; i < rows.length; i += LAST_ADDRESS_ROWS_PER_STATEMENT)
        await this.upsert(rows.slice(i, i + LAST_ADDRESS_ROWS_PER_STATEMENT));
    } catch (error) {
      this.logger.warn(
        `could not record the last address of ${rows.length} key(s) (kept for the next flush): ${(error as Error).message}`,
      );
      for (const [keyId, noted] of batch) if (!this.pending.has(keyId)) this.pending.set(keyId, noted);
      this.timer ??= setTimeout(() => void this.flush(), this.intervalMs).unref();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async upsert(rows: readonly (readonly [string, string, number])[]): Promise<void> {
    const { driver } = this.dataSource;
    const usedAt = this.dataSource.getMetadata(this.entity).findColumnWithPropertyName('usedAt')!;
    const postgres = this.dataSource.options.type === 'postgres';
    let n = 0;
    const placeholders = rows.map(() => `(${[0, 1, 2].map(() => (postgres ? `$${++n}` : '?')).join(', ')})`);
    const parameters = rows.flatMap(([keyId, address, at]) => [
      keyId,
      address,
      driver.preparePersistentValue(new Date(at), usedAt),
    ]);
    await this.dataSource.query((this.sql ??= this.statement())(placeholders.join(', ')), parameters);
  }

  /** The upsert's SQL around its VALUES, in the driver's dialect, with the naming strategy's names. */
  private statement(): (placeholders: string) => string {
    const metadata = this.dataSource.getMetadata(this.entity);
    const escape = (name: string) => this.dataSource.driver.escape(name);
    const name = (property: string) => escape(metadata.findColumnWithPropertyName(property)!.databaseName);
    const table = metadata.tablePath
      .split('.')
      .map((part) => escape(part))
      .join('.');
    const [keyId, address, usedAt] = ['keyId', 'address', 'usedAt'].map(name);
    const columns = `(${keyId}, ${address}, ${usedAt})`;
    const type = this.dataSource.options.type;
    if (type === 'mysql' || type === 'mariadb')
      // MySQL assigns left to right: the address is compared with the old time before the time changes.
      return (placeholders) =>
        `INSERT INTO ${table} ${columns} VALUES ${placeholders} ON DUPLICATE KEY UPDATE ` +
        `${address} = IF(VALUES(${usedAt}) >= ${usedAt}, VALUES(${address}), ${address}), ` +
        `${usedAt} = GREATEST(${usedAt}, VALUES(${usedAt}))`;
    return (placeholders) =>
      `INSERT INTO ${table} AS a ${columns} VALUES ${placeholders} ON CONFLICT (${keyId}) DO UPDATE ` +
      `SET ${address} = excluded.${address}, ${usedAt} = excluded.${usedAt} WHERE a.${usedAt} <= excluded.${usedAt}`;
  }
}
