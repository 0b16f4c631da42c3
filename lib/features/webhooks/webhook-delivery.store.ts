import { Inject, Injectable } from '@nestjs/common';
import { In, IsNull, LessThan, LessThanOrEqual, Or, type EntityManager } from 'typeorm';
import {
  API_KEY_WEBHOOK_ENTITY,
  type ApiKeyWebhookDeliveryColumns,
  type ApiKeyWebhookDeliveryStatus,
} from './api-key-webhook-delivery.entity.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';

/** A row before it is written. */
export type NewWebhookDelivery = Pick<
  ApiKeyWebhookDeliveryColumns,
  'id' | 'endpointUrl' | 'eventType' | 'keyId' | 'payload' | 'createdAt' | 'nextAttemptAt'
>;

/** What an attempt's end writes to its row. */
export interface WebhookAttemptOutcome {
  status: ApiKeyWebhookDeliveryStatus;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt?: Date;
  deliveredAt?: Date;
}

/**
 * Every statement on the webhook delivery table, each through the unit of
 * work (on SQLite's one connection, never inside another change's open
 * transaction). Claims are conditional UPDATEs whose affected-row count says
 * who won, so they work alike on SQLite, PostgreSQL and MySQL/MariaDB.
 */
@Injectable()
export class WebhookDeliveryStore {
  constructor(
    @Inject(API_KEY_WEBHOOK_ENTITY) readonly entity: typeof ApiKeyWebhookDeliveryColumns,
    private readonly db: ApiKeyDatabase,
  ) {}

  /** Inserts rows with `em` (the change's transaction), or on its own when `em` is omitted. */
  async insert(rows: readonly NewWebhookDelivery[], em?: EntityManager): Promise<void> {
    if (rows.length === 0) return;
    const values = rows.map((row) => ({
      ...row,
      status: 'pending' as const,
      attempts: 0,
      lastStatusCode: null,
      lastError: null,
      deliveredAt: null,
      claimedBy: null,
      claimedUntil: null,
    }));
    if (em) await em.insert(this.entity, values);
    else await this.db.run((own) => own.insert(this.entity, values).then(() => undefined));
  }

  /** Ids of pending rows due at `now` and not claimed, the oldest due first. */
  due(now: Date, limit: number): Promise<ApiKeyWebhookDeliveryColumns[]> {
    return this.db.run((em) =>
      em.find(this.entity, {
        where: this.dueWhere(now),
        order: { nextAttemptAt: 'ASC', id: 'ASC' },
        take: limit,
      }),
    );
  }

  /**
   * Claims one due row for one attempt (counting it) until `until`: true when
   * this UPDATE won it. Another instance's UPDATE of the same row then matches
   * nothing, so two instances never send the same attempt at once.
   */
  async claim(id: string, token: string, now: Date, until: Date): Promise<boolean> {
    const attempts = this.column('attempts');
    const result = await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(this.entity)
        .set({ claimedBy: token, claimedUntil: until, attempts: () => `${attempts} + 1` })
        .where({ id, ...this.dueWhere(now) })
        .execute(),
    );
    return result.affected === 1;
  }

  /** Writes an attempt's outcome and releases the claim, if `token` still holds it. */
  async complete(id: string, token: string, outcome: WebhookAttemptOutcome): Promise<boolean> {
    const result = await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(this.entity)
        .set({ ...outcome, lastError: outcome.lastError?.slice(0, 255) ?? null, claimedBy: null, claimedUntil: null })
        .where({ id, claimedBy: token })
        .execute(),
    );
    return result.affected === 1;
  }

  /** Puts a failed row back in the queue with a fresh count of attempts: true if it was failed. */
  async requeue(id: string, now: Date): Promise<boolean> {
    const result = await this.db.run((em) =>
      em
        .createQueryBuilder()
        .update(this.entity)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: now, claimedBy: null, claimedUntil: null })
        .where({ id, status: 'failed' })
        .execute(),
    );
    return result.affected === 1;
  }

  /** Deletes rows of `statuses` created before `before`; returns how many. */
  async purge(before: Date, statuses: readonly ApiKeyWebhookDeliveryStatus[]): Promise<number> {
    const result = await this.db.run((em) =>
      em
        .createQueryBuilder()
        .delete()
        .from(this.entity)
        .where({ createdAt: LessThan(before), status: In([...statuses]) })
        .execute(),
    );
    return result.affected ?? 0;
  }

  /** Runs a read with the unit of work's manager (driver errors become ApiKeyStoreUnavailableError). */
  read<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.run(work);
  }

  /** Pending, due at `now`, and not claimed (or its claim lapsed). */
  private dueWhere(now: Date) {
    return {
      status: 'pending' as const,
      nextAttemptAt: LessThanOrEqual(now),
      claimedUntil: Or(IsNull(), LessThan(now)),
    };
  }

  private column(property: string): string {
    const column = this.db.dataSource.getMetadata(this.entity).findColumnWithPropertyName(property)!;
    return this.db.dataSource.driver.escape(column.databaseName);
  }
}
