import type { DataSource, EntityManager } from 'typeorm';
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

const DEFAULT_HEARTBEAT: ApiKeyListenerHeartbeat = {
  intervalMs: DEFAULT_CACHE_HEARTBEAT_INTERVAL_MS,
  timeoutMs: DEFAULT_CACHE_HEARTBEAT_TIMEOUT_MS,
};

/** The part of a `pg` client the listener uses. */
interface ListenerClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
  processID?: number;
  /** pg's connection; its socket is destroyed when the server went silent (`end()` would wait for it). */
  connection?: { stream?: { destroy(): void } };
}

/** Options of {@link PostgresInvalidationBus}. */
export interface PostgresInvalidationBusOptions {
  /** First reconnection delay in ms, doubled per failure. Default 100. */
  minBackoffMs?: number;
  /** Longest reconnection delay in ms. Default 5000. */
  maxBackoffMs?: number;
  /** Longest a connection attempt (connect and LISTEN) may take before it is dropped and retried, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Told about connection failures (a message without secrets), once per outage. */
  onError?: (message: string) => void;
}

/**
 * Cache invalidation over PostgreSQL LISTEN/NOTIFY. `publish` runs
 * `pg_notify` with the change's own transaction, so PostgreSQL delivers it
 * exactly when (and only if) the change commits. The listener is one
 * dedicated, long-lived `pg` client, built from the DataSource's own pool
 * options (same server, credentials, TLS), outside the pool. It runs
 * `SELECT 1` on that client as the heartbeat says (`subscribe`'s third
 * argument; by default every 5 s, answered within 2 s). If the client drops,
 * or stops answering, the cache is suspended (every request reads live), one
 * warning is logged, the connection is torn down and it reconnects with
 * backoff; once it listens again the cache starts empty.
 */
export class PostgresInvalidationBus implements ApiKeyInvalidationBus {
  readonly delivery = 'transaction' as const;
  private client?: ListenerClient;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private backoffMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly heartbeats = new Set<ListenerHeartbeat>();
  /** Whether an outage was reported and the listener has not listened since. */
  private down = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: PostgresInvalidationBusOptions = {},
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.backoffMs = this.minBackoffMs;
  }

  async publish(channel: string, change: ApiKeyInvalidation, em?: EntityManager): Promise<void> {
    await (em ?? this.dataSource.manager).query('SELECT pg_notify($1, $2)', [channel, encodeInvalidation(change)]);
  }

  /** Connects the listener (one attempt now; retries in the background if it fails). */
  async subscribe(
    channel: string,
    handlers: ApiKeyInvalidationHandlers,
    heartbeat: ApiKeyListenerHeartbeat = DEFAULT_HEARTBEAT,
  ): Promise<void> {
    await this.listen(channel, handlers, heartbeat);
  }

  /** The backend process id of the listener connection, while connected (for diagnostics and tests). */
  get listenerPid(): number | undefined {
    return this.client?.processID;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const heartbeat of this.heartbeats) heartbeat.stop();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // A silent server never answers the goodbye: give it a second, then drop the socket.
    let timer: NodeJS.Timeout | undefined;
    const ended = client.end().catch(() => undefined);
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 1000)));
    if ((await Promise.race([ended, late])) === 'late') client.connection?.stream?.destroy();
    clearTimeout(timer);
  }

  private async listen(
    channel: string,
    handlers: ApiKeyInvalidationHandlers,
    heartbeat: ApiKeyListenerHeartbeat,
  ): Promise<void> {
    if (this.closed) return;
    let client: ListenerClient;
    try {
      client = this.createClient();
    } catch (error) {
      handlers.suspend();
      this.reportDown(`cache invalidation listener cannot start: ${(error as Error).message}`);
      return this.retry(channel, handlers, heartbeat);
    }
    let lost = false;
    const beat = new ListenerHeartbeat({
      ...heartbeat,
      probe: () => client.query('SELECT 1'),
      // A silent server never closes the socket, and end() would wait for it.
      onMissed: (error) => onLost(error, true),
    });
    const onLost = (error?: Error, silent = false) => {
      if (lost) return;
      lost = true;
      beat.stop();
      this.heartbeats.delete(beat);
      if (this.client === client) this.client = undefined;
      if (silent) client.connection?.stream?.destroy();
      client.end().catch(() => undefined);
      if (this.closed) return;
      handlers.suspend();
      this.reportDown(
        `cache invalidation listener lost: ${error?.message ?? 'connection ended'}; ` +
          'the cache reads live until it listens again',
      );
      this.retry(channel, handlers, heartbeat);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === channel) dispatchInvalidation(message.payload, handlers);
    });
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 5000;
    let connectTimer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          await client.connect();
          await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
        })(),
        new Promise<never>((_, reject) => {
          connectTimer = setTimeout(
            () => reject(new Error(`no connection and LISTEN within ${connectTimeoutMs} ms`)),
            connectTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      onLost(error as Error, true);
      return;
    } finally {
      clearTimeout(connectTimer);
    }
    if (this.closed || lost) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = this.minBackoffMs;
    // Listening now: every change committed from here on will be heard, and
    // every read that starts from here on sees the changes committed before.
    handlers.reset();
    this.heartbeats.add(beat);
    beat.start();
    this.down = false;
  }

  /** Reports the first failure of an outage; the attempts that follow stay quiet until it is over. */
  private reportDown(message: string): void {
    if (this.down) return;
    this.down = true;
    this.options.onError?.(message);
  }

  private retry(channel: string, handlers: ApiKeyInvalidationHandlers, heartbeat: ApiKeyListenerHeartbeat): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.listen(channel, handlers, heartbeat), this.backoffMs);
    this.timer.unref?.();
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
  }

  /** A client with the master pool's options (`pool.options` hides the password from enumeration, so it is copied by name). */
  private createClient(): ListenerClient {
    const driver = this.dataSource.driver as unknown as {
      master?: { options: Record<string, unknown>; Client: new (config: object) => ListenerClient };
    };
    const pool = driver.master;
    if (!pool) throw new Error('the PostgreSQL DataSource is not connected');
    const config = { ...pool.options, password: pool.options.password, keepAlive: true };
    for (const poolOnly of [
      'max',
      'min',
      'maxUses',
      'idleTimeoutMillis',
      'allowExitOnIdle',
      'maxLifetimeSeconds',
      'log',
      'Client',
      'Promise',
    ]) {
      delete (config as Record<string, unknown>)[poolOnly];
    }
    return new pool.Client(config);
  }
}
