import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ReadFrom } from './batched-lookup.js';
import type { ReplicaLagReading } from './lookup-stats.js';

/** Options of {@link ReplicaLagGate}. */
export interface ReplicaLagGateOptions {
  /** The most lag the guard's replica reads accept, in ms; beyond it lookups go to the primary. */
  maxLagMs: number;
  /** How often the lag is measured, in ms. */
  intervalMs: number;
}

/** A PostgreSQL `pg_lsn` (`16/B374D848`) as a number of bytes. */
export function parseLsn(lsn: string): bigint {
  const [high, low] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/**
 * Bounds how stale the guard's replica reads (`readFrom: 'replica'`) may be, on PostgreSQL under TypeORM
 * `replication`. Once per interval, never per request, it measures the replica's lag from WAL positions:
 * it reads the primary's `pg_current_wal_lsn()` at time t0, then polls the replica's
 * `pg_last_wal_replay_lsn()` until the replica has replayed up to that position (every change committed
 * before t0 is then visible on it); the time that took is the lag, an upper bound. A replica that has not
 * caught up within `maxLagMs`, or that cannot be reached, is over the bound: lookups go to the primary
 * (counted in {@link bypasses}) until a later check finds it within the bound again. Each switch is one log
 * line. Before the first check, lookups go to the primary. Between two checks the lag may grow unseen, so a
 * revoked key passes at most about `maxLagMs + intervalMs` after its revocation committed.
 *
 * Unlike `now() - pg_last_xact_replay_timestamp()`, this neither reports a lag on an idle primary nor misses
 * one on a replica that lost its primary (whose received and replayed positions are then equal).
 */
export class ReplicaLagGate implements ReplicaLagReading {
  lagMs: number | undefined = undefined;
  onReplica = false;
  bypasses = 0;
  checks = 0;
  private timer?: ReturnType<typeof setInterval>;
  private running?: Promise<void>;
  private stopped = false;
  private lastFailure?: string;
  private readonly logger = new Logger('ApiKeyReplicaLag');

  /** @throws ApiKeyConfigurationError when the DataSource is not PostgreSQL */
  constructor(
    private readonly dataSource: DataSource,
    private readonly options: ReplicaLagGateOptions,
  ) {
    if (dataSource.options.type !== 'postgres')
      throw new ApiKeyConfigurationError(
        `maxReplicaLagMs measures lag on PostgreSQL only; this DataSource is ${dataSource.options.type}`,
        'maxReplicaLagMs',
      );
  }

  /** Where the next lookup statement goes; counts a bypass when it is the primary. */
  readFrom(): ReadFrom {
    if (this.onReplica) return 'replica';
    this.bypasses++;
    return 'primary';
  }

  /** Runs a first check now, then one per interval (the timer does not keep the process alive). */
  start(): Promise<void> {
    this.stopped = false;
    this.timer ??= setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref?.();
    return this.check();
  }

  /** Stops the checks and waits for one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One measurement (skipped while another runs); never throws. */
  check(): Promise<void> {
    this.running ??= this.measure().finally(() => (this.running = undefined));
    return this.running;
  }

  private async measure(): Promise<void> {
    let lag: number | undefined;
    let failure: string | undefined;
    try {
      lag = await this.lag();
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (this.stopped) return;
    this.checks++;
    this.lagMs = lag;
    const within = lag !== undefined && lag <= this.options.maxLagMs;
    const max = this.options.maxLagMs;
    if (within && !this.onReplica) {
      this.logger.log(`replica lag ${lag} ms is within maxReplicaLagMs (${max}): key lookups read the replica`);
    } else if (!within && (this.onReplica || this.checks === 1 || failure !== this.lastFailure)) {
      const why =
        failure !== undefined
          ? `the replica's lag could not be measured (${failure})`
          : `replica lag ${lag} ms is over maxReplicaLagMs (${max})`;
      this.logger.warn(`${why}: key lookups read the primary until it is within the bound`);
    }
    this.lastFailure = failure;
    this.onReplica = within;
  }

  /** The replica's lag in ms; past the bound, how long it was waited for (over the bound). */
  private async lag(): Promise<number> {
    const primary = this.dataSource.createQueryRunner('master');
    let target: bigint;
    const started = performance.now();
    try {
      const [row] = await primary.query('SELECT pg_current_wal_lsn()::text AS lsn');
      target = parseLsn(row.lsn);
    } finally {
      await primary.release();
    }
    const pause = Math.max(5, Math.min(50, Math.floor(this.options.maxLagMs / 10)));
    for (;;) {
      // A connection per poll, never held across the pause: a pooled client checked out while idle has no
      // error listener, and a server that ends it then would crash the process.
      const replica = this.dataSource.createQueryRunner('slave');
      let row: { standby: boolean; lsn: string | null };
      try {
        [row] = await replica.query('SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn');
      } finally {
        await replica.release();
      }
      if (!row.standby) throw new Error('the replica is not in recovery (promoted?)');
      if (row.lsn !== null && parseLsn(row.lsn) >= target) return Math.ceil(performance.now() - started);
      // Not caught up within the bound: the lag is at least this (over the bound).
      const elapsed = performance.now() - started;
      if (elapsed > this.options.maxLagMs || this.stopped) return Math.ceil(elapsed);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
