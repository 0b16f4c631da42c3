import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { And, IsNull, LessThanOrEqual, MoreThan } from 'typeorm';
import { ApiKeyChanges } from '../../lifecycle/api-key.changes.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import { API_KEY_EXPIRY_NOTICE_OPTIONS, type ResolvedExpiryNoticeOptions } from './expiry-notices.options.js';

const INTERVAL_NAME = 'nestjs-opaque-keys:expiry-notices';

/** The part of `@nestjs/schedule`'s SchedulerRegistry used here. */
interface SchedulerRegistryLike {
  addInterval(name: string, interval: ReturnType<typeof setInterval>): void;
  deleteInterval(name: string): void;
  doesExist(type: 'interval', name: string): boolean;
}

/** A notice's row id: the same on every instance for the same key, kind and expiry, so only one INSERT wins. */
export function noticeId(keyId: string, marker: string): string {
  return 'n' + createHash('sha256').update(`${keyId}|${marker}`).digest('hex').slice(0, 35);
}

/**
 * Expiry notices (`withExpiryNotices()`): on an interval (registered with
 * `@nestjs/schedule`'s SchedulerRegistry when the host has it, else an unref'd
 * timer of its own), announces `expiring` once per key per threshold (the
 * tightest one reached: a key issued for 12 hours gets the 1-day notice, not
 * both) and `expired` once per key. Each notice is first claimed by an audit
 * row whose id is derived from key, kind and expiry (`INSERT ... ON CONFLICT
 * DO NOTHING` / `INSERT IGNORE`, one statement): of several instances, the one
 * whose INSERT wrote the row announces it, so each notice goes out once.
 * Revoked and rotated-away keys get none; an expiry changed later is a new notice.
 */
@Injectable()
export class ApiKeyExpiryNotifier implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ApiKeyExpiryNotices');
  private timer: ReturnType<typeof setInterval> | undefined;
  private registry: SchedulerRegistryLike | undefined;
  private running: Promise<number> | undefined;

  constructor(
    @Inject(API_KEY_EXPIRY_NOTICE_OPTIONS) private readonly config: ResolvedExpiryNoticeOptions,
    private readonly db: ApiKeyDatabase,
    private readonly changes: ApiKeyChanges,
    private readonly moduleRef: ModuleRef,
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
   * Looks once: claims and announces the notices due at `now`; returns how
   * many this instance announced. Never throws (a failure is logged; the next
   * check retries). Runs one check at a time.
   */
  check(now: number = Date.now()): Promise<number> {
    this.running ??= this.checkNow(now)
      .catch((error: unknown) => {
        this.logger.error(`expiry notice check failed: ${(error as Error).message}`);
        return 0;
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkNow(now: number): Promise<number> {
    const { thresholdsMs, batchSize } = this.config;
    const widest = thresholdsMs[thresholdsMs.length - 1];
    // Keys expiring within the widest threshold, or expired within it (no notice for a key long gone).
    const due = await this.db.dataSource.manager.find(this.db.keys, {
      where: {
        revokedAt: IsNull(),
        replacedById: IsNull(),
        expiresAt: And(MoreThan(new Date(now - widest)), LessThanOrEqual(new Date(now + widest))),
      },
      select: { id: true, ownerId: true, expiresAt: true },
      order: { expiresAt: 'ASC' },
      take: batchSize,
    });
    const announced: ApiKeyLifecycleEvent[] = [];
    for (const key of due) {
      const expiresAt = key.expiresAt!.getTime();
      const left = expiresAt - now;
      const threshold = thresholdsMs.find((ms) => left <= ms);
      const event: ApiKeyLifecycleEvent =
        left <= 0
          ? notice('expired', key, now, { expiresAt: new Date(expiresAt).toISOString() })
          : notice('expiring', key, now, { expiresAt: new Date(expiresAt).toISOString(), thresholdMs: threshold });
      const marker = left <= 0 ? `expired:${expiresAt}` : `expiring:${threshold}:${expiresAt}`;
      if (await this.claim(noticeId(key.id, marker), event)) announced.push(event);
    }
    // The notices' rows are committed: a failure to announce them is logged (and not retried, as they are claimed).
    await this.changes.announce(announced).catch((error: Error) => {
      this.logger.error(`could not announce ${announced.length} expiry notice(s): ${error.message}`);
    });
    return announced.length;
  }

  /** Writes the notice's audit row unless another instance did: true when this INSERT wrote it. */
  private async claim(id: string, event: ApiKeyLifecycleEvent): Promise<boolean> {
    const [sql, parameters] = this.db.dataSource
      .createQueryBuilder()
      .insert()
      .into(this.db.events)
      .values({
        id,
        keyId: event.keyId,
        ownerId: event.ownerId,
        type: event.type,
        actor: null,
        at: event.at,
        details: event.details as never,
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

function notice(
  type: 'expiring' | 'expired',
  key: { id: string; ownerId: string | null },
  now: number,
  details: Record<string, unknown>,
): ApiKeyLifecycleEvent {
  return Object.freeze({ type, keyId: key.id, ownerId: key.ownerId, actor: null, at: new Date(now), details });
}
