import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { IssuedApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { serverUrl, testDatabase } from '../support/database.js';
import { statusOf } from '../support/http-status.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances (two Nest apps, two connection pools, no shared memory)
 * on one PostgreSQL schema. A steady stream of requests hits instance B while
 * instance A revokes the key or removes a scope: no request that *starts*
 * after the change has resolved may pass. Run with `npm run test:faults`.
 *
 * Each scenario runs twice: B connected straight to PostgreSQL, and B behind a
 * proxy that delays every answer from PostgreSQL by 100 ms (a slow network or
 * a stalled event loop). The delay widens the window in which a lookup that
 * B sent before the change is still unanswered when a new request arrives: a
 * request must never be answered from such a lookup (no caching, and no
 * sharing of a lookup that started before the request did).
 */

/** A TCP proxy that delays everything PostgreSQL sends by `delayMs` (requests go through at once). */
class LatencyProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
    private readonly delayMs: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      // Equal delays keep the chunks in order.
      upstream.on('data', (chunk) => setTimeout(() => client.destroyed || client.write(chunk), this.delayMs));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** test/support/database.ts reads the server URL from these (the global setup's, then DB_URL). */
const URL_VARIABLES = ['APIKEYS_TEST_DB_URL', 'DB_URL'];

interface Sample {
  start: number;
  end: number;
  status: number;
}

describe.each([
  ['B connected directly', 0],
  ['B 100 ms away from the database', 100],
])('two instances on one PostgreSQL schema, %s (npm run test:faults)', (_label, delayMs) => {
  let a: TestApp;
  let b: TestApp;
  let portB: number;
  let proxy: LatencyProxy | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });

  const get = (port: number, path: string, apiKey: string) => statusOf(agent, port, path, apiKey);

  /**
   * Streams requests at instance B, open loop (one every 4 ms, whatever the
   * answers do, as independent clients would); after `warmupMs` runs `change`
   * through instance A, then keeps streaming for `afterMs`. Returns the
   * statuses of the requests finished before the change was called, of those
   * overlapping it, and of those that started after it resolved.
   */
  async function streamAround(
    path: string,
    apiKey: string,
    change: () => Promise<unknown>,
    warmupMs = 400,
    afterMs = 600,
  ) {
    const samples: Sample[] = [];
    const pending: Promise<void>[] = [];
    const timer = setInterval(() => {
      const start = performance.now();
      pending.push(
        get(portB, path, apiKey).then((status) => void samples.push({ start, end: performance.now(), status })),
      );
    }, 4);
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    const called = performance.now();
    await change();
    const resolved = performance.now();
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    clearInterval(timer);
    await Promise.all(pending);
    const count = (list: Sample[]) =>
      list.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
    return {
      before: count(samples.filter((s) => s.end < called)),
      overlapping: count(samples.filter((s) => s.end >= called && s.start <= resolved)),
      after: count(samples.filter((s) => s.start > resolved)),
      changeMs: Math.round(resolved - called),
    };
  }

  beforeAll(async () => {
    if (testDatabase() !== 'postgres') {
      throw new Error(
        `the two-instance suite needs DB_TYPE=postgres (got ${testDatabase()}): run it with npm run test:faults`,
      );
    }
    a = await createTestApp({ controllers: [OrdersController] });
    if (delayMs === 0) {
      b = await createTestApp({ controllers: [OrdersController], joinDatabase: true });
    } else {
      const upstream = new URL(serverUrl());
      proxy = new LatencyProxy(upstream.hostname, Number(upstream.port || 5432), delayMs);
      await proxy.start();
      const viaProxy = new URL(upstream);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const saved = URL_VARIABLES.map((name) => [name, process.env[name]] as const);
      for (const name of URL_VARIABLES) process.env[name] = viaProxy.toString();
      try {
        b = await createTestApp({ controllers: [OrdersController], joinDatabase: true });
      } finally {
        for (const [name, value] of saved) {
          if (value === undefined) delete process.env[name];
          else process.env[name] = value;
        }
      }
      // B must really be behind the proxy: one round trip takes at least the delay.
      const started = performance.now();
      await b.dataSource.query('SELECT 1');
      if (performance.now() - started < delayMs)
        throw new Error(
          'instance B is not behind the latency proxy: has test/support/database.ts stopped reading APIKEYS_TEST_DB_URL?',
        );
    }
    await b.app.listen(0, '127.0.0.1');
    portB = (b.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    await b?.close();
    await a?.close();
    await proxy?.stop();
  });

  it('really is two instances on one schema: separate pools, same rows', async () => {
    expect(a.dataSource).not.toBe(b.dataSource);
    expect(b.dataSource.options.type).toBe('postgres');
    const issued = await a.service.issue({ name: 'shared', scopes: ['orders:read'] });
    expect((await b.service.get(issued.record.id)).name).toBe('shared');
    const [pidA] = await a.dataSource.query('SELECT pg_backend_pid() AS pid');
    const [pidB] = await b.dataSource.query('SELECT pg_backend_pid() AS pid');
    expect(pidA.pid).not.toBe(pidB.pid);
  });

  it('revoke through A: no request to B that starts after revoke resolved passes', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'streamed', scopes: ['orders:read'] });
    const result = await streamAround('/orders', key.key, () => a.service.revoke(key.record.id, 'two-instance test'));
    console.log(`[two-instances, ${_label}] revoke: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(0);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['401']);
    expect(result.after[401]).toBeGreaterThan(5);
  });

  it('scope removal through A: no request to B that starts after updateScopes resolved passes', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'narrowed', scopes: ['orders:read', 'orders:write'] });
    const result = await streamAround('/orders', key.key, () =>
      a.service.updateScopes(key.record.id, ['orders:write']),
    );
    console.log(`[two-instances, ${_label}] scope removal: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(0);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['403']);
    expect(result.after[403]).toBeGreaterThan(5);
  });

  it('rotation without grace through A: the old key stops on B for every request that starts after rotate resolved', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'rotated', scopes: ['orders:read'] });
    let successor = '';
    const result = await streamAround('/orders', key.key, async () => {
      successor = (await a.service.rotate(key.record.id)).key;
    });
    console.log(`[two-instances, ${_label}] rotation: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(0);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['401']);
    expect(await get(portB, '/orders', successor)).toBe(200);
  });
});
