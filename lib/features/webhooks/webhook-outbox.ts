import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { ApiKeyUnitOfWork } from '../../storage/api-key.unit-of-work.js';
import { timeOrderedId } from '../../storage/time-ordered-id.js';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import { ApiKeyWebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookDeliveryStore, type NewWebhookDelivery } from './webhook-delivery.store.js';
import { webhookPayload } from './webhook-payload.js';

/**
 * The webhook outbox: one delivery row per event and subscribed endpoint,
 * written in the change's own transaction, so a change that rolls back sends
 * nothing and one that committed is sent even if the process dies right
 * after. The dispatcher is woken once the transaction committed. Does nothing
 * (not a statement) when webhooks are off.
 */
@Injectable()
export class ApiKeyWebhookOutbox implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ApiKeyWebhooks');
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly store: WebhookDeliveryStore,
    private readonly unitOfWork: ApiKeyUnitOfWork,
    private readonly dispatcher: ApiKeyWebhookDispatcher,
  ) {}

  /** True when webhooks are configured. */
  get enabled(): boolean {
    return this.options.webhooks !== undefined;
  }

  /** Writes the deliveries of `events` with `em` (inside the change's transaction) and wakes the dispatcher after commit. */
  async enqueue(em: EntityManager, events: readonly ApiKeyLifecycleEvent[], now: number = Date.now()): Promise<void> {
    const rows = this.rowsFor(events, now);
    if (rows.length === 0) return;
    await this.store.insert(rows, em);
    this.unitOfWork.afterCommit(em, () => this.dispatcher.kick());
  }

  /**
   * Writes the deliveries of events whose work already committed (expiry
   * notices) in a statement of their own, then wakes the dispatcher. Never
   * throws: a failure is logged (the notice's audit row stays).
   */
  enqueueCommitted(events: readonly ApiKeyLifecycleEvent[], now: number = Date.now()): void {
    const rows = this.rowsFor(events, now);
    if (rows.length === 0) return;
    const work = this.store
      .insert(rows)
      .then(() => this.dispatcher.kick())
      .catch((error: Error) =>
        this.logger.error(`could not queue ${rows.length} webhook deliveries: ${error.message}`),
      );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Resolves once every insert of `enqueueCommitted` under way has ended. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.idle();
  }

  private rowsFor(events: readonly ApiKeyLifecycleEvent[], now: number): NewWebhookDelivery[] {
    const config = this.options.webhooks;
    if (!config) return [];
    const rows: NewWebhookDelivery[] = [];
    for (const event of events) {
      const payload = webhookPayload(event);
      for (const endpoint of config.endpoints) {
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
