import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import type { ApiKeyChangeHook } from '../../lifecycle/change-hook.js';
import { timeOrderedId } from '../../storage/api-key-event.insert.js';
import { ApiKeyWebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookDeliveryStore, type NewWebhookDelivery } from './webhook-delivery.store.js';
import { webhookPayload } from './webhook-payload.js';
import { API_KEY_WEBHOOK_OPTIONS, type ResolvedWebhookOptions } from './webhook.options.js';

/**
 * The webhook outbox, the change hook of `withWebhooks()`: one delivery row per event and subscribed endpoint,
 * written in the change's own transaction, so a change that rolls back sends nothing and one that committed is
 * sent even if the process dies right after. The dispatcher is woken once the transaction committed.
 */
@Injectable()
export class ApiKeyWebhookOutbox implements ApiKeyChangeHook {
  constructor(
    @Inject(API_KEY_WEBHOOK_OPTIONS) private readonly options: ResolvedWebhookOptions,
    private readonly store: WebhookDeliveryStore,
    private readonly dispatcher: ApiKeyWebhookDispatcher,
  ) {}

  /** Writes the deliveries of `events` with `em`, inside the change's transaction (one INSERT, none if no endpoint wants them). */
  async duringChange(em: EntityManager, events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    const rows = this.rowsFor(events, Date.now());
    if (rows.length > 0) await this.store.insert(rows, em);
  }

  /** Wakes the dispatcher once deliveries were committed. */
  afterCommit(events: readonly ApiKeyLifecycleEvent[]): void {
    if (events.some((event) => this.wanted(event))) this.dispatcher.kick();
  }

  private wanted(event: ApiKeyLifecycleEvent): boolean {
    return this.options.endpoints.some((endpoint) => !endpoint.events || endpoint.events.has(event.type));
  }

  private rowsFor(events: readonly ApiKeyLifecycleEvent[], now: number): NewWebhookDelivery[] {
    const rows: NewWebhookDelivery[] = [];
    for (const event of events) {
      const payload = webhookPayload(event);
      for (const endpoint of this.options.endpoints) {
        if (endpoint.events && !endpoint.events.has(event.type)) continue;
        rows.push({
          id: timeOrderedId(now),
          endpointUrl: endpoint.url,
          eventType: event.type,
          keyId: event.keyId,
          payload,
          createdAt: new Date(now),
          nextAttemptAt: new Date(now),
        });
      }
    }
    return rows;
  }
}
