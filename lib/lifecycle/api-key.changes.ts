import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { API_KEY_CHANGE_HOOKS, API_KEY_OPTIONS } from '../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../api-key.options.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { insertApiKeyEvents, type ApiKeyEventInput } from '../storage/api-key-event.insert.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import { isLifecycleEventType, type ApiKeyLifecycleEvent } from './api-key-lifecycle.event.js';
import type { ApiKeyChangeHook } from './change-hook.js';

export type { ApiKeyEventInput } from '../storage/api-key-event.insert.js';

/** One change under way: its transaction, its time, and what it did. */
export interface KeyChange {
  /** The change's transaction. */
  readonly em: EntityManager;
  /** When the change is made (ms): its events' time. */
  readonly now: number;
  /** Records audit events: written in the change's transaction, announced once it committed. */
  record(...events: ApiKeyEventInput[]): void;
  /** Marks the cached rows of these keys stale (`'all'`: every cached row) on every instance. */
  invalidate(ids: readonly string[] | 'all'): void;
}

/** What every operation of the write side works with: the options, the database and the change unit. */
export interface LifecycleContext {
  readonly options: ResolvedApiKeyOptions;
  readonly db: ApiKeyDatabase;
  readonly changes: ApiKeyChanges;
  /** Whether rate limits can be counted: a key is never given one that could only get 503. */
  readonly rateLimits?: { assertCanCount(): void };
}

/** A change's record of what it did, until it completes. */
class PendingChange implements KeyChange {
  readonly events: ApiKeyEventInput[] = [];
  stale: Set<string> | 'all' = new Set();

  constructor(
    readonly em: EntityManager,
    readonly now: number,
  ) {}

  // Arrow functions: a change's work may take them apart (`async ({ em, record }) => ...`).
  readonly record = (...events: ApiKeyEventInput[]): void => {
    this.events.push(...events);
  };

  readonly invalidate = (ids: readonly string[] | 'all'): void => {
    if (ids === 'all') this.stale = 'all';
    else if (this.stale !== 'all') for (const id of ids) this.stale.add(id);
  };
}

/**
 * The one way a key changes. {@link run} runs a change's statements in one transaction, then, still inside it,
 * writes its audit rows, calls the features' change hooks (`duringChange`: an outbox row commits or rolls back
 * with the change) and tells the cache (PostgreSQL NOTIFY in the transaction, local entries dropped once it
 * ended, other buses after commit); once it committed, the hooks hear it (`afterCommit`: lifecycle events,
 * a webhook dispatcher's wake-up). A change that fails or rolls back is announced nowhere.
 */
@Injectable()
export class ApiKeyChanges {
  private readonly logger = new Logger('ApiKeyEvents');
  private readonly hooks: readonly ApiKeyChangeHook[];

  constructor(
    @Inject(API_KEY_OPTIONS) readonly options: ResolvedApiKeyOptions,
    readonly db: ApiKeyDatabase,
    private readonly cache: ApiKeyCacheInvalidator,
    @Optional() @Inject(API_KEY_CHANGE_HOOKS) hooks?: readonly ApiKeyChangeHook[],
  ) {
    this.hooks = hooks ?? [];
  }

  /** The context the write side's operations are built with. */
  get context(): LifecycleContext {
    return { options: this.options, db: this.db, changes: this };
  }

  /**
   * Runs `work` as one change, in one transaction, and completes it there (audit rows, hooks, cache).
   * @throws what `work` throws (the transaction rolls back); ApiKeyStoreUnavailableError for a driver failure
   */
  run<T>(work: (change: KeyChange) => Promise<T>, now: number = Date.now()): Promise<T> {
    return this.db.run(async (em) => {
      const change = new PendingChange(em, now);
      const result = await work(change);
      await this.complete(change);
      return result;
    }, true);
  }

  /**
   * Announces events whose rows were committed by other means (an expiry notice claims its row with its own
   * INSERT): the hooks' `duringChange` in a transaction of its own, then `afterCommit`.
   * @throws ApiKeyStoreUnavailableError when that transaction fails (nothing is announced then)
   */
  async announce(events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    if (events.length === 0 || this.hooks.length === 0) return;
    await this.db.run((em) => this.hear(em, events), true);
  }

  private async complete(change: PendingChange): Promise<void> {
    const { em, now, events, stale } = change;
    await insertApiKeyEvents(em, this.db.events, events, now);
    if (stale === 'all') await this.cache.changed(em, { all: true });
    else if (stale.size > 0) await this.cache.changed(em, { ids: [...stale] });
    if (this.hooks.length === 0) return;
    const announced = events.filter((event) => isLifecycleEventType(event.type)).map((e) => lifecycleEvent(e, now));
    if (announced.length > 0) await this.hear(em, announced);
  }

  /** The hooks' `duringChange` with `em`, and their `afterCommit` once its transaction committed. */
  private async hear(em: EntityManager, events: readonly ApiKeyLifecycleEvent[]): Promise<void> {
    for (const hook of this.hooks) await hook.duringChange?.(em, events);
    this.db.afterCommit(em, () => this.afterCommit(events));
  }

  /** Each hook's `afterCommit`; one that throws is logged and reaches neither the change nor the next hook. */
  private afterCommit(events: readonly ApiKeyLifecycleEvent[]): void {
    for (const hook of this.hooks) {
      try {
        hook.afterCommit?.(events);
      } catch (error) {
        this.logger.error(`a change hook failed after commit: ${(error as Error).message}`);
      }
    }
  }
}

/** The announced form of an audit event. */
function lifecycleEvent(event: ApiKeyEventInput, now: number): ApiKeyLifecycleEvent {
  return Object.freeze({
    type: event.type as ApiKeyLifecycleEvent['type'],
    keyId: event.keyId,
    ownerId: event.ownerId,
    actor: event.actor ?? null,
    at: new Date(now),
    details: event.details ? Object.freeze({ ...event.details }) : null,
  });
}
