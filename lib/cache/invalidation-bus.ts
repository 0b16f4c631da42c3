import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/** What changed: these key ids, or everything (e.g. a rotation family revoked at once). */
export type ApiKeyInvalidation = { readonly ids: readonly string[] } | { readonly all: true };

/** What a bus calls on the instance that subscribed. */
export interface ApiKeyInvalidationHandlers {
  /** Another instance (or this one) changed these keys: drop their cached rows. */
  invalidate(ids: readonly string[]): void;
  /** Everything may have changed: drop every cached row. */
  invalidateAll(): void;
  /** Drop every cached row and start caching: called once subscribed, and again after every reconnection. */
  reset(): void;
  /** The subscription is lost: drop every cached row and read live until the next {@link reset}. */
  suspend(): void;
  /** Reports a problem of the transport (a message without secrets), logged as a warning. */
  warn(message: string): void;
}

/**
 * How a bus checks that its listening connection still answers (from the
 * `cache` option's `heartbeatIntervalMs` / `heartbeatTimeoutMs`). A bus that
 * cannot tell a silent connection from a quiet one would let the cache serve
 * rows whose invalidation it never heard, until `ttlMs`.
 */
export interface ApiKeyListenerHeartbeat {
  /** Time from one answered probe to the next, in ms. */
  readonly intervalMs: number;
  /** How long a probe may take before the listener counts as silent (suspend, warn, reconnect), in ms. */
  readonly timeoutMs: number;
}

/**
 * Carries cache invalidations between instances. Built in: PostgreSQL
 * LISTEN/NOTIFY ({@link PostgresInvalidationBus}) and Redis pub/sub
 * ({@link redisInvalidationBus}); any other transport can implement this.
 */
export interface ApiKeyInvalidationBus {
  /**
   * When {@link publish} is called. `'transaction'`: inside the change's
   * transaction, with its EntityManager, so the message is sent exactly when
   * the change commits (PostgreSQL NOTIFY). `'after-commit'`: once the change
   * has committed, without an EntityManager (Redis).
   */
  readonly delivery: 'transaction' | 'after-commit';
  /** Sends a change on `channel`. With `'transaction'` delivery, a failure fails the change. */
  publish(channel: string, change: ApiKeyInvalidation, em?: EntityManager): Promise<void>;
  /**
   * Starts listening on `channel`. Calls `handlers.reset()` once listening;
   * until then the cache reads live. Should not throw when the transport is
   * down: report `suspend()` and keep retrying instead. While listening, it
   * should probe its connection as `heartbeat` says and call `suspend()` (then
   * reconnect) when a probe goes unanswered.
   */
  subscribe(channel: string, handlers: ApiKeyInvalidationHandlers, heartbeat?: ApiKeyListenerHeartbeat): Promise<void>;
  /** Stops listening and releases what {@link subscribe} opened. */
  close(): Promise<void>;
}

/** Encodes a change as a message payload (JSON: `{"ids":[...]}` or `{"all":true}`). */
export function encodeInvalidation(change: ApiKeyInvalidation): string {
  return JSON.stringify('all' in change ? { all: true } : { ids: change.ids });
}

/**
 * Decodes a payload and calls the matching handler. Anything unreadable drops
 * every cached row: a message we cannot read must never leave a stale one.
 */
export function dispatchInvalidation(payload: unknown, handlers: ApiKeyInvalidationHandlers): void {
  try {
    const message = JSON.parse(String(payload)) as { ids?: unknown; all?: unknown };
    if (Array.isArray(message.ids) && message.ids.every((id) => typeof id === 'string'))
      return handlers.invalidate(message.ids);
  } catch {
    // falls through
  }
  handlers.invalidateAll();
}

/**
 * The channel of a key table: readable, unique per database, schema and table,
 * and at most 63 bytes (PostgreSQL's identifier limit).
 */
export function invalidationChannel(tableName: string, qualifiedName: string): string {
  const digest = createHash('sha256').update(qualifiedName).digest('hex').slice(0, 12);
  return `${tableName.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 30)}_cache_${digest}`;
}
