import { Injectable } from '@nestjs/common';
import type { FindOptionsWhere } from 'typeorm';
import { ApiKeyValidationError } from '../../api-key.errors.js';
import { validatePage } from '../../policies/api-key.input.js';
import type { ApiKeyWebhookDeliveryColumns, ApiKeyWebhookDeliveryStatus } from './api-key-webhook-delivery.entity.js';
import { ApiKeyWebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';

const STATUSES: readonly ApiKeyWebhookDeliveryStatus[] = ['pending', 'delivered', 'failed'];

/** One webhook delivery as the log shows it: no claim internals, the body parsed. */
export interface ApiKeyWebhookDelivery {
  /** The `webhook-id` header: the same on every attempt and on a redelivery. */
  id: string;
  endpointUrl: string;
  eventType: string;
  keyId: string;
  status: ApiKeyWebhookDeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date;
  deliveredAt: Date | null;
  createdAt: Date;
  /** The body sent: `{ type, timestamp, data }`. */
  payload: unknown;
}

/** Query of {@link ApiKeyWebhookLog.list}. */
export interface ListWebhookDeliveriesQuery {
  status?: ApiKeyWebhookDeliveryStatus;
  keyId?: string;
  endpointUrl?: string;
  /** Page size, 1-100. Default 50. */
  limit?: number;
  offset?: number;
}

/** Options of {@link ApiKeyWebhookLog.purge}. */
export interface PurgeWebhookDeliveriesOptions {
  /** Rows created more than this many ms ago. */
  olderThanMs: number;
  /** Which rows. Default `['delivered']`. */
  statuses?: ApiKeyWebhookDeliveryStatus[];
}

/**
 * The webhook delivery log: list deliveries by status, key or endpoint (with
 * their attempts and last error), redeliver a failed one, purge old rows.
 * @example
 * const { items } = await webhookLog.list({ status: 'failed' });
 * for (const delivery of items) await webhookLog.redeliver(delivery.id);
 */
@Injectable()
export class ApiKeyWebhookLog {
  constructor(
    private readonly store: WebhookDeliveryStore,
    private readonly dispatcher: ApiKeyWebhookDispatcher,
  ) {}

  /** Deliveries, newest first. */
  async list(query: ListWebhookDeliveriesQuery = {}): Promise<{ items: ApiKeyWebhookDelivery[]; total: number }> {
    const { limit, offset } = validatePage(query);
    if (query.status !== undefined && !STATUSES.includes(query.status))
      throw new ApiKeyValidationError(`status must be one of ${STATUSES.join(', ')}`);
    const where: FindOptionsWhere<ApiKeyWebhookDeliveryColumns> = {};
    if (query.status !== undefined) where.status = query.status;
    if (query.keyId !== undefined) where.keyId = String(query.keyId);
    if (query.endpointUrl !== undefined) where.endpointUrl = String(query.endpointUrl);
    const [rows, total] = await this.store.read((em) =>
      em.findAndCount(this.store.entity, {
        where,
        order: { createdAt: 'DESC', id: 'DESC' },
        take: limit,
        skip: offset,
      }),
    );
    return { items: rows.map(toDelivery), total };
  }

  /** One delivery, or `null`. */
  async get(id: string): Promise<ApiKeyWebhookDelivery | null> {
    const row = await this.store.read((em) => em.findOneBy(this.store.entity, { id: String(id) }));
    return row ? toDelivery(row) : null;
  }

  /**
   * Sends a `failed` delivery again, with the same `webhook-id` (receivers
   * that saw it drop it) and a fresh count of attempts; returns it, pending.
   * @throws ApiKeyValidationError when there is no such delivery, or it is not `failed`
   */
  async redeliver(id: string): Promise<ApiKeyWebhookDelivery> {
    const requeued = await this.store.requeue(String(id), new Date());
    if (!requeued) {
      const row = await this.get(id);
      throw new ApiKeyValidationError(
        row
          ? `webhook delivery ${id} is ${row.status}; only failed deliveries are redelivered`
          : `no webhook delivery ${id}`,
      );
    }
    this.dispatcher.kick();
    return (await this.get(id))!;
  }

  /** Deletes rows created more than `olderThanMs` ago (delivered ones by default); returns how many. */
  async purge({ olderThanMs, statuses = ['delivered'] }: PurgeWebhookDeliveriesOptions): Promise<number> {
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0)
      throw new ApiKeyValidationError('olderThanMs must be a non-negative number of ms');
    if (statuses.length === 0 || statuses.some((status) => !STATUSES.includes(status)))
      throw new ApiKeyValidationError(`statuses must be some of ${STATUSES.join(', ')}`);
    return this.store.purge(new Date(Date.now() - olderThanMs), statuses);
  }
}

function toDelivery(row: ApiKeyWebhookDeliveryColumns): ApiKeyWebhookDelivery {
  let payload: unknown;
  try {
    payload = JSON.parse(row.payload);
  } catch {
    payload = row.payload;
  }
  return {
    id: row.id,
    endpointUrl: row.endpointUrl,
    eventType: row.eventType,
    keyId: row.keyId,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    nextAttemptAt: row.nextAttemptAt,
    deliveredAt: row.deliveredAt,
    createdAt: row.createdAt,
    payload,
  };
}
