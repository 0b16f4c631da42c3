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

/** Options of {@link ListenerHeartbeat}. */
export interface ListenerHeartbeatOptions {
  /** Time from one answered probe to the next probe, in ms. */
  intervalMs: number;
  /** How long a probe may take before the connection counts as silent, in ms. */
  timeoutMs: number;
  /** One round trip on the listening connection (`SELECT 1`, Redis `PING`); resolves when it was answered. */
  probe: () => Promise<unknown>;
  /** Called once when a probe fails or times out; the heartbeat has stopped by then. */
  onMissed: (error: Error) => void;
}

/**
 * Checks that a listening connection still answers. TCP keepalive cannot tell
 * a live but silent peer (a proxy or load balancer that dropped the flow, a
 * partition) from an idle one, and a listener only ever reads, so nothing
 * else would notice: this sends a probe `intervalMs` after the previous one
 * was answered and reports a miss if the next one fails or has no answer
 * within `timeoutMs`. A silent connection is therefore noticed at most
 * `intervalMs + timeoutMs` after its last answered probe, which is the
 * longest a cache behind it serves rows a missed message should have dropped.
 *
 * One heartbeat per connection: {@link start} it once the connection listens,
 * {@link stop} it when the connection goes; after a miss it stays stopped.
 */
export class ListenerHeartbeat {
  private timer?: NodeJS.Timeout;
  /** Bumped by every start/stop, so a probe of an earlier round reports nothing. */
  private round = 0;

  constructor(private readonly options: ListenerHeartbeatOptions) {}

  /** Starts probing (the first probe goes out after `intervalMs`). Restarts if already running. */
  start(): void {
    this.stop();
    this.schedule(this.round);
  }

  /** Stops probing; a probe in flight is ignored. */
  stop(): void {
    this.round++;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Whether a probe is scheduled or in flight. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  private schedule(round: number): void {
    this.timer = setTimeout(() => this.beat(round), this.options.intervalMs);
    this.timer.unref?.();
  }

  private beat(round: number): void {
    const { timeoutMs, probe } = this.options;
    // The timeout timer doubles as "running" while the probe is in flight.
    this.timer = setTimeout(
      () => this.miss(round, new Error(`no answer to the listener heartbeat within ${timeoutMs} ms`)),
      timeoutMs,
    );
    this.timer.unref?.();
    let answer: Promise<unknown>;
    try {
      answer = Promise.resolve(probe());
    } catch (error) {
      answer = Promise.reject(error as Error);
    }
    answer.then(
      () => {
        if (round !== this.round) return;
        clearTimeout(this.timer);
        this.schedule(round);
      },
      (error: Error) => this.miss(round, new Error(`listener heartbeat failed: ${error?.message ?? String(error)}`)),
    );
  }

  private miss(round: number, error: Error): void {
    if (round !== this.round) return;
    this.stop();
    this.options.onMissed(error);
  }
}
