import type { DataSource, EntityManager } from 'typeorm';
import {
  dispatchInvalidation,
  encodeInvalidation,
  type ApiKeyInvalidation,
  type ApiKeyInvalidationBus,
  type ApiKeyInvalidationHandlers,
} from './invalidation-bus.js';

/** The part of a `pg` client the listener uses. */
interface ListenerClient {
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
  processID?: number;
}

/** Options of {@link PostgresInvalidationBus}. */
export interface PostgresInvalidationBusOptions {
  /** First reconnection delay in ms, doubled per failure. Default 100. */
  minBackoffMs?: number;
  /** Longest reconnection delay in ms. Default 5000. */
  maxBackoffMs?: number;
  /** Told about connection failures (a message without secrets). */
  onError?: (message: string) => void;
}

/**
 * Cache invalidation over PostgreSQL LISTEN/NOTIFY. `publish` runs
 * `pg_notify` with the change's own transaction, so PostgreSQL delivers it
 * exactly when (and only if) the change commits. The listener is one
 * dedicated, long-lived `pg` client, built from the DataSource's own pool
 * options (same server, credentials, TLS), outside the pool. If it drops, the
 * cache is suspended (every request reads live) and it reconnects with
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
  async subscribe(channel: string, handlers: ApiKeyInvalidationHandlers): Promise<void> {
    await this.listen(channel, handlers);
  }

  /** The backend process id of the listener connection, while connected (for diagnostics and tests). */
  get listenerPid(): number | undefined {
    return this.client?.processID;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async listen(channel: string, handlers: ApiKeyInvalidationHandlers): Promise<void> {
    if (this.closed) return;
    let client: ListenerClient;
    try {
      client = this.createClient();
    } catch (error) {
      handlers.suspend();
      this.options.onError?.(`cache invalidation listener cannot start: ${(error as Error).message}`);
      return this.retry(channel, handlers);
    }
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) return;
      handlers.suspend();
      this.options.onError?.(
        `cache invalidation listener lost: ${error?.message ?? 'connection ended'}; reading live until it reconnects`,
      );
      this.retry(channel, handlers);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === channel) dispatchInvalidation(message.payload, handlers);
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel.replace(/"/g, '""')}"`);
    } catch (error) {
      onLost(error as Error);
      return;
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
  }

  private retry(channel: string, handlers: ApiKeyInvalidationHandlers): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.listen(channel, handlers), this.backoffMs);
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
