import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { apiKeyEventName, type ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import type { ApiKeyChangeHook } from '../../lifecycle/change-hook.js';
import { API_KEY_EVENT_LISTENER, type ApiKeyEventListener } from './api-key-event.listener.js';
import { API_KEY_EVENTS_OPTIONS, type ResolvedEventOptions } from './events.options.js';

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
 * Announces lifecycle events after their change committed (the change hook of `withEvents()`): through the
 * host's `EventEmitter2` (`api-key.<type>`) when `@nestjs/event-emitter` is there, and to every
 * `ApiKeyEventListener` (option or provider token). A listener that throws or rejects is logged (one line per
 * batch) and never reaches the change; delivery does not hold up the caller.
 */
@Injectable()
export class ApiKeyEventPublisher implements ApiKeyChangeHook, OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeyEvents');
  private emitter: EmitterLike | undefined;
  private listeners: ApiKeyEventListener[];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    @Inject(API_KEY_EVENTS_OPTIONS) private readonly options: ResolvedEventOptions,
    private readonly moduleRef: ModuleRef,
  ) {
    this.listeners = [...options.listeners];
  }

  async onApplicationBootstrap(): Promise<void> {
    const provided = this.find<ApiKeyEventListener | ApiKeyEventListener[]>(API_KEY_EVENT_LISTENER);
    if (provided) this.listeners.push(...(Array.isArray(provided) ? provided : [provided]));
    if (this.options.eventEmitter) {
      const emitterClass = await loadEventEmitterClass();
      if (emitterClass) this.emitter = this.find<EmitterLike>(emitterClass);
    }
  }

  /** True when someone hears events (an emitter or a listener). */
  get active(): boolean {
    return this.emitter !== undefined || this.listeners.length > 0;
  }

  /** The change hook: hands the committed change's events to the emitter and the listeners, off the caller's stack. */
  afterCommit(events: readonly ApiKeyLifecycleEvent[]): void {
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
