import {
  type ApiKeyInvalidation,
  type ApiKeyInvalidationBus,
  type ApiKeyInvalidationHandlers,
  type ApiKeyListenerHeartbeat,
  dispatchInvalidation,
  encodeInvalidation,
  ListenerHeartbeat,
} from './invalidation-bus.js';
import { DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS, DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS } from './cache.options.js';

/** The publishing side of an ioredis-style client: `publish(channel, message)`. */
export interface RedisPublisherLike {
  publish(channel: string, message: string): Promise<unknown>;
}

/**
 * The subscribing side of an ioredis-style client (a connection of its own, in
 * subscriber mode): `subscribe`, `unsubscribe`, `ping` (the heartbeat) and the
 * `message`, `ready` and `close` events. ioredis re-subscribes by itself after
 * a reconnection.
 */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** A round trip on this connection (allowed in subscriber mode): the heartbeat. */
  ping(): Promise<unknown>;
  /**
   * ioredis's `disconnect(true)`: drop the connection (ioredis destroys a
   * socket that does not close within its `disconnectTimeout`, 2 s by
   * default) and reconnect. Called when the heartbeat goes unanswered; a
   * client without it is kept, suspended, until a heartbeat is answered again.
   */
  disconnect?(reconnect?: boolean): unknown;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'ready' | 'close', listener: () => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/** Options of {@link redisInvalidationBus}. */
export interface RedisInvalidationBusOptions {
  /** Publishes changes (any connection). */
  publisher: RedisPublisherLike;
  /** Receives them: a separate connection, which this bus puts in subscriber mode. */
  subscriber: RedisSubscriberLike;
  /** Channel name. Default: derived from the key table, as for PostgreSQL. */
  channel?: string;
  /** How long module start-up waits for the first subscription, in ms; the cache reads live until it is there. Default 2000. */
  subscribeTimeoutMs?: number;
}

/**
 * Cache invalidation over Redis pub/sub, with clients the host app creates and
 * owns (ioredis, or anything with the same `publish` / `subscribe` / `on`
 * shape); the library depends on no Redis package. A change is published
 * once it has committed. While the subscriber's connection is down the cache
 * is suspended (every request reads live); when it is ready again the cache
 * starts empty. The subscriber is sent `PING` as the cache's heartbeat says
 * (by default every 5 s, answered within 2 s): a connection that stops
 * answering without closing (a proxy or load balancer that dropped it, a
 * partition) suspends the cache, logs one warning and is reconnected with
 * `disconnect(true)`. `close()` unsubscribes but leaves the clients open.
 *
 * A publish that fails after the change committed cannot undo the change:
 * other instances then see it when their entry expires (the cache's `ttlMs`).
 * @example
 * import Redis from 'ioredis';
 * ApiKeyModule.forRoot({
 *   cache: { invalidation: redisInvalidationBus({ publisher: new Redis(url), subscriber: new Redis(url) }) },
 * });
 */
export function redisInvalidationBus(options: RedisInvalidationBusOptions): ApiKeyInvalidationBus {
  return new RedisInvalidationBus(options);
}

const DEFAULT_HEARTBEAT: ApiKeyListenerHeartbeat = {
  intervalMs: DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS,
  timeoutMs: DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS,
};

class RedisInvalidationBus implements ApiKeyInvalidationBus {
  readonly delivery = 'after-commit' as const;
  private readonly detach: (() => void)[] = [];
  private channel?: string;

  constructor(private readonly options: RedisInvalidationBusOptions) {}

  async publish(channel: string, change: ApiKeyInvalidation): Promise<void> {
    await this.options.publisher.publish(this.options.channel ?? channel, encodeInvalidation(change));
  }

  async subscribe(
    derivedChannel: string,
    handlers: ApiKeyInvalidationHandlers,
    heartbeat: ApiKeyListenerHeartbeat = DEFAULT_HEARTBEAT,
  ): Promise<void> {
    const channel = (this.channel = this.options.channel ?? derivedChannel);
    const { subscriber } = this.options;
    let closed = false;
    /** Whether the subscriber went silent and has not been reconnected or answered since. */
    let silent = false;
    const beat = new ListenerHeartbeat({
      ...heartbeat,
      probe: async () => {
        await subscriber.ping();
        // A client that could not be reconnected from here answers again: listen again (the cache
        // starts empty). One that could be listens again on its 'ready'.
        if (silent && !closed && !subscriber.disconnect) void listen();
      },
      onMissed: (error) => {
        if (closed) return;
        handlers.suspend();
        if (!silent) {
          handlers.warn(
            `cache invalidation subscriber silent (${error.message}); the cache reads live until it listens again`,
          );
        }
        silent = true;
        // ioredis: drop the socket and reconnect ('ready' then listens again). Probing goes on
        // meanwhile, so a reconnection that is silent too is dropped again.
        subscriber.disconnect?.(true);
        beat.start();
      },
    });
    const onMessage = (from: string, message: string) => {
      if (from === channel) dispatchInvalidation(message, handlers);
    };
    const onClose = () => {
      if (!silent) beat.stop(); // clean close: 'ready' starts it again
      handlers.suspend();
    };
    // Queued behind ioredis's own re-subscription, so once it answers we listen again.
    const listen = () =>
      subscriber.subscribe(channel).then(
        () => {
          if (closed) return;
          handlers.reset();
          silent = false;
          beat.start();
        },
        () => handlers.suspend(),
      );
    const onReady = () => void listen();
    subscriber.on('message', onMessage);
    subscriber.on('close', onClose);
    subscriber.on('ready', onReady);
    this.detach.push(() => {
      closed = true;
      beat.stop();
      subscriber.removeListener('message', onMessage);
      subscriber.removeListener('close', onClose);
      subscriber.removeListener('ready', onReady);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>(
      (resolve) => (timer = setTimeout(resolve, this.options.subscribeTimeoutMs ?? 2000)),
    );
    await Promise.race([listen(), timeout]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    for (const detach of this.detach.splice(0)) detach();
    if (!this.channel) return;
    // An offline client would queue the command: do not wait for it long.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([this.options.subscriber.unsubscribe(this.channel).catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
}
