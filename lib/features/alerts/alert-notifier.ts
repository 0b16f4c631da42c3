import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiKeyChanges } from '../../lifecycle/api-key.changes.js';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { alertClaimId, type AlertCrossing, type ApiKeyAlert } from './alert-event.js';
import { API_KEY_ALERT_OPTIONS, type ResolvedAlertOptions } from './alerts.options.js';
import { balanceCrossings } from './balance-alerts.js';
import { countedCrossings } from './counted-alerts.js';
import { ownerBalanceCrossings } from './owner-balance-alerts.js';
import { ApiKeyRefusalCounter } from './refusal-counter.js';

const INTERVAL_NAME = 'nestjs-opaque-keys:alerts';

/** The part of `@nestjs/schedule`'s SchedulerRegistry used here. */
interface SchedulerRegistryLike {
  addInterval(name: string, interval: ReturnType<typeof setInterval>): void;
  deleteInterval(name: string): void;
  doesExist(type: 'interval', name: string): boolean;
}

/**
 * Threshold alerts (`withAlerts()`): on an interval (registered with `@nestjs/schedule`'s SchedulerRegistry when
 * the host has it, else an unref'd timer of its own), finds the balances below their thresholds (one query over
 * the key table, one more for owners' sums) and the refusal counts above theirs (in memory, counted per key and
 * per owner by {@link ApiKeyRefusalCounter}), claims
 * each crossing with an audit row whose id is derived from the crossing (`INSERT ... ON CONFLICT DO NOTHING` /
 * `INSERT IGNORE`), and announces the ones it claimed through the other features' change hooks. Of several
 * instances, the one whose INSERT wrote the row announces it: each crossing goes out once.
 */
@Injectable()
export class ApiKeyAlerts implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeyAlerts');
  private timer: ReturnType<typeof setInterval> | undefined;
  private registry: SchedulerRegistryLike | undefined;
  private running: Promise<ApiKeyAlert[]> | undefined;

  constructor(
    @Inject(API_KEY_ALERT_OPTIONS) private readonly config: ResolvedAlertOptions,
    private readonly db: ApiKeyDatabase,
    private readonly changes: ApiKeyChanges,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly counter?: ApiKeyRefusalCounter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.timer = setInterval(() => void this.check(), this.config.checkIntervalMs);
    this.registry = await this.schedulerRegistry();
    if (this.registry) this.registry.addInterval(INTERVAL_NAME, this.timer);
    else this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    // @nestjs/schedule clears and forgets its intervals before the app's shutdown hooks run: it may be gone.
    if (this.registry?.doesExist('interval', INTERVAL_NAME)) this.registry.deleteInterval(INTERVAL_NAME);
    this.timer = undefined;
  }

  /**
   * Evaluates every threshold once at `now`; returns the alerts this instance claimed and announced. Never throws
   * (a failure is logged; the next check finds the balances again). Runs one check at a time.
   */
  check(now: number = Date.now()): Promise<ApiKeyAlert[]> {
    this.running ??= this.checkNow(now)
      .catch((error: unknown) => {
        this.logger.error(`alert check failed: ${(error as Error).message}`);
        return [];
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkNow(now: number): Promise<ApiKeyAlert[]> {
    const counted = this.counter?.crossings(now) ?? [];
    const crossings = [
      ...(await balanceCrossings(this.db, this.config, now)),
      ...(await ownerBalanceCrossings(this.db, this.config, now)),
      ...(await countedCrossings(this.db, counted, now)),
    ];
    const announced: ApiKeyAlert[] = [];
    for (const crossing of crossings) if (await this.claim(crossing)) announced.push(crossing.alert);
    // The claims are committed: a failure to announce them is logged (and not retried, as they are claimed).
    await this.changes.announce(announced as unknown as ApiKeyLifecycleEvent[]).catch((error: Error) => {
      this.logger.error(`could not announce ${announced.length} alert(s): ${error.message}`);
    });
    return announced;
  }

  /**
   * Writes the crossing's audit row unless another instance did: true when this INSERT wrote it. An owner's row
   * has `OWNER_ALERT_KEY_ID` as `keyId` (the column holds no null) and the owner as `ownerId`.
   */
  private async claim({ alert, marker }: AlertCrossing): Promise<boolean> {
    const [sql, parameters] = this.db.dataSource
      .createQueryBuilder()
      .insert()
      .into(this.db.events)
      .values({
        id: alertClaimId(marker),
        keyId: alert.keyId,
        ownerId: alert.ownerId,
        type: alert.type as never,
        actor: null,
        at: alert.at,
        details: alert.details as never,
      })
      .orIgnore()
      .updateEntity(false)
      .getQueryAndParameters();
    const runner = this.db.dataSource.createQueryRunner('master');
    try {
      const result = await runner.query(sql, parameters, true);
      return result.affected === 1;
    } finally {
      await runner.release();
    }
  }

  private async schedulerRegistry(): Promise<SchedulerRegistryLike | undefined> {
    const name = '@nestjs/schedule';
    try {
      const { SchedulerRegistry } = (await import(name)) as { SchedulerRegistry?: unknown };
      return SchedulerRegistry ? this.moduleRef.get(SchedulerRegistry as never, { strict: false }) : undefined;
    } catch {
      return undefined;
    }
  }
}
