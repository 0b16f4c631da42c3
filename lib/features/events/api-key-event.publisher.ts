import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { EntityManager } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import type { ApiKeyEventInput } from '../../storage/api-key-event.insert.js';
import { ApiKeyUnitOfWork } from '../../storage/api-key.unit-of-work.js';
import { ApiKeyWebhookOutbox } from '../webhooks/webhook-outbox.js';
import { API_KEY_EVENT_LISTENER, type ApiKeyEventListener } from './api-key-event.listener.js';
import {
  apiKeyEventName,
  isLifecycleEventType,
  type ApiKeyLifecycleEvent,
} from '../../lifecycle/api-key-lifecycle.event.js';

/** The part of `EventEmitter2` used here. */
interface EmitterLike {
  emitAsync(event: string, ...values: unknown[]): Promise<unknown[]>;
}

/** `@nestjs/event-emitter`'s EventEmitter2 class if the host installed the package; no static import. */
async function loadEventEmitterClass(): Promise<unknown> {
  const name = '@nestjs/event-emitter';
  try {
    return ((await import(name)) as { EventEmitter2?: unknown }).EventEmitter2;
  } catch {
    return undefined;
  }
}

/**
 * Announces lifecycle events after their change committed: through the
 * host's `EventEmitter2` (`api-key.<type>`) when `@nestjs/event-emitter` is
 * there, and to every `ApiKeyEventListener` (option or provider token). A
 * listener that throws or rejects is logged (one line per batch) and never
 * reaches the change; delivery does not hold up the caller. With
 * `events.webhooks`, each event is also queued in the webhook outbox, in the
 * change's transaction (see `ApiKeyWebhookOutbox`).
 */
@Injectable()
export class ApiKeyEventPublisher implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeyEvents');
  private emitter: EmitterLike | undefined;
  private listeners: ApiKeyEventListener[];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(API_KEY_OPTIONS) private readonly options: ResolvedApiKeyOptions,
    private readonly unitOfWork: ApiKeyUnitOfWork,
    private readonly moduleRef: ModuleRef,
    private readonly webhooks: ApiKeyWebhookOutbox,
  ) {
    this.listeners = [...(options.events.listeners ?? [])];
  }

  async onApplicationBootstrap(): Promise<void> {
    const provided = this.find<ApiKeyEventListener | ApiKeyEventListener[]>(API_KEY_EVENT_LISTENER);
    if (provided) this.listeners.push(...(Array.isArray(provided) ? provided : [provided]));
    if (this.options.events.eventEmitter !== false) {
      const emitterClass = await loadEventEmitterClass();
      if (emitterClass) this.emitter = this.find<EmitterLike>(emitterClass);
    }
  }

  /** True when someone hears events (an emitter or a listener): callers may skip building them otherwise. */
  get active(): boolean {
    return this.emitter !== undefined || this.listeners.length > 0;
  }

  /**
   * Announces `events` once the transaction of `em` commits; never if it
   * rolls back. Refused-use types are ignored. One call per change, inside
   * its transaction: with webhooks on, it writes their outbox rows with `em`
   * (one INSERT; nothing without webhooks).
   */
  async afterCommit(em: EntityManager, events: readonly ApiKeyEventInput[], now: number = Date.now()): Promise<void> {
    const lifecycle = events.filter((event) => isLifecycleEventType(event.type));
    if (lifecycle.length === 0) return;
    const announced = lifecycle.map((event) => toLifecycleEvent(event, now));
    if (this.webhooks.enabled) await this.webhooks.enqueue(em, announced, now);
    this.unitOfWork.afterCommit(em, () => this.announce(announced));
  }

  /** Announces events of work already committed (e.g. an expiry notice's row), and queues their webhooks. Never throws. */
  publish(events: readonly ApiKeyLifecycleEvent[]): void {
    if (events.length === 0) return;
    if (this.webhooks.enabled) this.webhooks.enqueueCommitted(events);
    this.announce(events);
  }

  /** Hands events to the emitter and the listeners, off the caller's stack. */
  private announce(events: readonly ApiKeyLifecycleEvent[]): void {
    if (events.length === 0 || !this.active) return;
    const delivery = this.deliver(events);
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Resolves once every delivery under way has ended (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async deliver(events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    await Promise.resolve(); // never inside the caller's stack
    const calls: Promise<unknown>[] = [];
    for (const event of events) {
      if (this.emitter) calls.push(this.call(() => this.emitter!.emitAsync(apiKeyEventName(event.type), event)));
      for (const listener of this.listeners) calls.push(this.call(() => listener.onApiKeyEvent(event)));
    }
    const failed = (await Promise.allSettled(calls)).filter(
      (result): result is PromiseRejectedResult => result.status === 'rejected',
    );
    if (failed.length > 0) {
      const first = failed[0].reason as Error | undefined;
      this.logger.error(
        `${failed.length} of ${calls.length} lifecycle event deliveries failed (${events.map((e) => e.type).join(', ')}): ${first?.message ?? String(first)}`,
      );
    }
  }

  /** A listener's call as a promise, whether it throws, rejects or returns. */
  private async call(work: () => unknown): Promise<unknown> {
    return work();
  }

  private find<T>(token: unknown): T | undefined {
    try {
      return this.moduleRef.get(token as never, { strict: false }) as T;
    } catch {
      return undefined;
    }
  }
}

function toLifecycleEvent(event: ApiKeyEventInput, now: number): ApiKeyLifecycleEvent {
  return Object.freeze({
    type: event.type as ApiKeyLifecycleEvent['type'],
    keyId: event.keyId,
    ownerId: event.ownerId,
    actor: event.actor ?? null,
    at: new Date(now),
    details: event.details ? Object.freeze({ ...event.details }) : null,
  });
}
