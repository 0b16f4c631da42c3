import {
  dispatchInvalidation,
  encodeInvalidation,
  type ApiKeyInvalidation,
  type ApiKeyInvalidationBus,
  type ApiKeyInvalidationHandlers,
} from './invalidation-bus.js';

/** The publishing side of an ioredis-style client: `publish(channel, message)`. */
export interface RedisPublisherLike {
  publish(channel: string, message: string): Promise<unknown>;
}

/**
 * The subscribing side of an ioredis-style client (a connection of its own, in
 * subscriber mode): `subscribe`, `unsubscribe` and the `message`, `ready` and
 * `close` events. ioredis re-subscribes by itself after a reconnection.
 */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
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
 * starts empty. `close()` unsubscribes but leaves the clients open.
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

class RedisInvalidationBus implements ApiKeyInvalidationBus {
  readonly delivery = 'after-commit' as const;
  private readonly detach: (() => void)[] = [];
  private channel?: string;

  constructor(private readonly options: RedisInvalidationBusOptions) {}

  async publish(channel: string, change: ApiKeyInvalidation): Promise<void> {
    await this.options.publisher.publish(this.options.channel ?? channel, encodeInvalidation(change));
  }

  async subscribe(derivedChannel: string, handlers: ApiKeyInvalidationHandlers): Promise<void> {
    const channel = (this.channel = this.options.channel ?? derivedChannel);
    const { subscriber } = this.options;
    let closed = false;
    const onMessage = (from: string, message: string) => {
      if (from === channel) dispatchInvalidation(message, handlers);
    };
    const onClose = () => handlers.suspend();
    // Queued behind ioredis's own re-subscription, so once it answers we listen again.
    const listen = () =>
      subscriber.subscribe(channel).then(
        () => closed || handlers.reset(),
        () => handlers.suspend(),
      );
    const onReady = () => void listen();
    subscriber.on('message', onMessage);
    subscriber.on('close', onClose);
    subscriber.on('ready', onReady);
    this.detach.push(() => {
      closed = true;
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
