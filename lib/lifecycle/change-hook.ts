import type { EntityManager } from 'typeorm';
import type { ApiKeyLifecycleEvent } from './api-key-lifecycle.event.js';

/**
 * A feature that hears committed changes to keys (lifecycle events, webhooks): the write half of the extension
 * point (see `ApiKeyFeature.changeHook`). Every change of the service goes through one unit that writes its
 * audit rows, calls {@link duringChange} in the same transaction, invalidates the cache, and calls
 * {@link afterCommit} once the transaction committed; a change that rolls back reaches no `afterCommit`.
 * Events never hold a key or its hash.
 */
export interface ApiKeyChangeHook {
  /**
   * Inside the change's transaction, after its audit rows: rows that must commit or roll back with the change
   * (an outbox). What it throws fails the change.
   */
  duringChange?(em: EntityManager, events: readonly ApiKeyLifecycleEvent[]): Promise<void>;
  /** Once the change committed, off the caller's stack. Must not throw; a slow listener must not hold the caller. */
  afterCommit?(events: readonly ApiKeyLifecycleEvent[]): void;
}
