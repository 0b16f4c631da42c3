import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import {
  ApiKeyCacheInvalidator,
  redisInvalidationBus,
  type ApiKeyModuleOptions,
  type RedisSubscriberLike,
} from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { statusOf } from '../support/http-status.js';
import { TcpProxy, type ProxyDirection } from '../support/tcp-proxy.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The Redis subscriber connection goes silent without closing: B's
 * subscriber reaches Redis through a TCP proxy that stops forwarding one
 * direction (bytes held, no socket closed). A revokes a key B has cached;
 * the TTL is a minute, so only the PING heartbeat can explain B refusing it
 * within heartbeatIntervalMs + heartbeatTimeoutMs. Run with
 * `npm run test:redis`. Set APIKEYS_HEARTBEAT_OUT=<file> for the figures.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TTL_MS = 60_000;
const INTERVAL_MS = 500;
const TIMEOUT_MS = 300;
const MARGIN_MS = 400;
const BOUND_MS = INTERVAL_MS + TIMEOUT_MS;
const TRIALS = 5;

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => (times > 20 ? null : 50),
  });
  client.on('error', () => undefined); // connection errors surface through connect() below
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`the Redis suite needs Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`);
  }
  return client;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) return Infinity;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - start;
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
  return { n: sorted.length, p50: at(0.5), max: at(1) };
};

describe('cache with a silent Redis subscriber (black-holed by a proxy): heartbeat (npm run test:redis)', () => {
  const clients: Redis[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'apikeys-redis-silent-'));
  const sqliteFile = join(dir, 'keys.sqlite');
  const channel = `nestjs-opaque-keys-test-silent:${process.pid}:${Date.now()}`;
  const figures: Record<string, unknown> = {};
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;
  let portB: number;
  /** C: its subscriber through a second proxy, and no disconnect(): it must recover once the proxy forwards again. */
  let proxyC: TcpProxy;
  let c: TestApp;
  let portC: number;

  async function instance(joinDatabase: boolean, subscriberUrl: string, reconnectable = true): Promise<TestApp> {
    const [publisher, client] = [await connectRedis(REDIS_URL), await connectRedis(subscriberUrl)];
    clients.push(publisher, client);
    // A client the bus cannot reconnect: only the subscriber shape, no disconnect().
    const subscriber: RedisSubscriberLike = reconnectable
      ? client
      : {
          subscribe: (name) => client.subscribe(name),
          unsubscribe: (name) => client.unsubscribe(name),
          ping: () => client.ping(),
          on: (event: string, listener: (...args: any[]) => void) => client.on(event, listener),
          removeListener: (event, listener) => client.removeListener(event, listener),
        };
    const options: ApiKeyModuleOptions = {
      lastUsedIntervalMs: 0,
      cache: {
        ttlMs: TTL_MS,
        heartbeatIntervalMs: INTERVAL_MS,
        heartbeatTimeoutMs: TIMEOUT_MS,
        invalidation: redisInvalidationBus({ publisher, subscriber, channel }),
      },
    };
    return createTestApp({ controllers: [OrdersController], options, sqliteFile, joinDatabase });
  }

  beforeAll(async () => {
    if (testDatabase() !== 'sqlite')
      throw new Error('the Redis suite runs on a shared SQLite file: run it with npm run test:redis');
    const server = new URL(REDIS_URL);
    proxy = await TcpProxy.start(server.hostname, Number(server.port || 6379));
    const proxied = new URL(server);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.listenPort);
    a = await instance(false, REDIS_URL);
    b = await instance(true, `${proxied}`); // only B's subscriber goes through the proxy
    await b.app.listen(0, '127.0.0.1');
    portB = (b.app.getHttpServer().address() as AddressInfo).port;
    proxyC = await TcpProxy.start(server.hostname, Number(server.port || 6379));
    proxied.port = String(proxyC.listenPort);
    c = await instance(true, `${proxied}`, false);
    await c.app.listen(0, '127.0.0.1');
    portC = (c.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    await c?.close();
    await b?.close();
    await a?.close();
    for (const client of clients) client.disconnect();
    await proxy?.close();
    await proxyC?.close();
    rmSync(dir, { recursive: true, force: true });
    if (process.env.APIKEYS_HEARTBEAT_OUT)
      writeFileSync(process.env.APIKEYS_HEARTBEAT_OUT, JSON.stringify(figures, null, 2));
  });

  const caching = () => b.app.get(ApiKeyCacheInvalidator).caching;
  // Nest's logger is process-wide: every line reaches the capture of the app created last (C). One
  // subscriber is silenced at a time, so the lines new since a trial began are that one's.
  const warnings = () => c.logs.lines.filter((l) => l.startsWith('warn') && l.includes('subscriber silent'));

  async function warm() {
    expect(await waitFor(caching, 10_000)).toBeLessThan(Infinity);
    const issued = await a.service.issue({ name: 'redis-silent', scopes: ['orders:read'] });
    expect(await statusOf(agent, portB, '/orders', issued.key)).toBe(200);
    expect(
      await b.queries.during(async () => expect(await statusOf(agent, portB, '/orders', issued.key)).toBe(200)),
    ).toEqual([]);
    return issued;
  }

  /** Silences `direction` of B's subscriber, revokes a key B cached, and times suspension and refusal. */
  async function silentRevoke(direction: ProxyDirection) {
    const { key, record } = await warm();
    const warned = warnings().length;
    // Cut at a random point of the heartbeat cycle, so the figures sample every phase.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_MS));
    expect(proxy.blackhole(direction, (c) => !c.client.destroyed)).toHaveLength(1);
    const silencedAt = performance.now();
    await a.service.revoke(record.id, 'while the subscriber is silent');
    const revokedAt = performance.now();
    const firstAnswer = await statusOf(agent, portB, '/orders', key);
    let suspendedAt = caching() ? Infinity : performance.now();
    let refusedAt = firstAnswer === 401 ? performance.now() : Infinity;
    while (refusedAt === Infinity && performance.now() - silencedAt < (BOUND_MS + MARGIN_MS) * 2) {
      const status = await statusOf(agent, portB, '/orders', key);
      if (!caching() && suspendedAt === Infinity) suspendedAt = performance.now();
      if (status === 401) refusedAt = performance.now();
      else expect(status).toBe(200);
    }
    if (suspendedAt === Infinity && (await waitFor(() => !caching(), BOUND_MS + MARGIN_MS)) < Infinity)
      suspendedAt = performance.now();
    return {
      firstAnswer,
      caching: caching(),
      suspendMs: suspendedAt - silencedAt,
      refusedFromSilenceMs: refusedAt - silencedAt,
      staleMs: refusedAt - revokedAt,
      newWarnings: warnings().slice(warned),
    };
  }

  it('B is subscribed through the proxy, caching', () => {
    expect(caching()).toBe(true);
    expect([...proxy.connections].filter((c) => !c.client.destroyed)).toHaveLength(1);
  });

  it(`server-to-client black-holed: B stops serving the revoked key within ${BOUND_MS} ms (+${MARGIN_MS}), warns once, reports not caching, reconnects`, async () => {
    const suspend: number[] = [];
    const stale: number[] = [];
    let staleFirst = 0;
    for (let i = 0; i < TRIALS; i++) {
      const result = await silentRevoke('toClient');
      expect(result.refusedFromSilenceMs).toBeLessThan(BOUND_MS + MARGIN_MS);
      expect(result.suspendMs).toBeLessThan(BOUND_MS + MARGIN_MS);
      expect(result.caching).toBe(false);
      expect(result.newWarnings).toHaveLength(1);
      expect(result.newWarnings[0]).toContain(`no answer to the listener heartbeat within ${TIMEOUT_MS} ms`);
      if (result.firstAnswer === 200) staleFirst++;
      suspend.push(result.suspendMs);
      stale.push(result.staleMs);
      // ioredis drops the silent socket (after its 2 s disconnectTimeout) and reconnects around it.
      const warned = warnings().length;
      expect(await waitFor(caching, 10_000)).toBeLessThan(Infinity);
      expect(warnings()).toHaveLength(warned);
      proxy.restore(); // let the held bytes of the dead flow go; the new flow is the one in use
    }
    expect(staleFirst).toBeGreaterThanOrEqual(TRIALS - 1); // the black hole really hid the message
    figures.toClient = { INTERVAL_MS, TIMEOUT_MS, suspendMs: summary(suspend), staleMs: summary(stale), staleFirst };
  });

  it('client-to-server black-holed (messages still arrive, PING does not): suspended within the bound too', async () => {
    const result = await silentRevoke('toServer');
    expect(result.suspendMs).toBeLessThan(BOUND_MS + MARGIN_MS);
    expect(result.newWarnings).toHaveLength(1);
    expect(await waitFor(caching, 10_000)).toBeLessThan(Infinity);
    proxy.restore();
    figures.toServer = { suspendMs: Math.round(result.suspendMs) };
  });

  it('after recovery, pushes arrive again on the new subscriber connection', async () => {
    const { key, record } = await warm();
    const called = performance.now();
    await a.service.revoke(record.id, 'after recovery');
    let ms = Infinity;
    while (performance.now() - called < 2000) {
      if ((await statusOf(agent, portB, '/orders', key)) === 401) {
        ms = performance.now() - called;
        break;
      }
    }
    expect(ms).toBeLessThan(1000);
    expect(caching()).toBe(true); // refused by the push, not by a suspension
  });

  it('a client the bus cannot reconnect (no disconnect()): suspended within the bound, then caching again once the proxy forwards again', async () => {
    const cachingC = () => c.app.get(ApiKeyCacheInvalidator).caching;
    expect(await waitFor(cachingC, 10_000)).toBeLessThan(Infinity);
    const { key, record } = await a.service.issue({ name: 'redis-silent-c', scopes: ['orders:read'] });
    expect(await statusOf(agent, portC, '/orders', key)).toBe(200);
    expect(await c.queries.during(async () => expect(await statusOf(agent, portC, '/orders', key)).toBe(200))).toEqual(
      [],
    );
    const warned = warnings().length;
    expect(proxyC.blackhole('toClient')).toHaveLength(1);
    const silencedAt = performance.now();
    await a.service.revoke(record.id, 'while the subscriber is silent');
    expect(await statusOf(agent, portC, '/orders', key)).toBe(200); // stale: the message is held by the proxy
    expect(await waitFor(() => !cachingC(), BOUND_MS + MARGIN_MS)).toBeLessThan(Infinity);
    expect(performance.now() - silencedAt).toBeLessThan(BOUND_MS + MARGIN_MS);
    expect(await statusOf(agent, portC, '/orders', key)).toBe(401); // read live
    expect(warnings().slice(warned)).toHaveLength(1);
    // Still silent: it stays suspended, probing, with no further warning.
    await new Promise((resolve) => setTimeout(resolve, 2 * BOUND_MS));
    expect(cachingC()).toBe(false);
    expect(warnings().slice(warned)).toHaveLength(1);
    // The proxy forwards again (the same connection): the next answered PING subscribes again, the cache starts empty.
    proxyC.restore();
    expect(await waitFor(cachingC, BOUND_MS + MARGIN_MS)).toBeLessThan(Infinity);
    const next = await a.service.issue({ name: 'redis-silent-c2', scopes: ['orders:read'] });
    expect(await statusOf(agent, portC, '/orders', next.key)).toBe(200);
    const called = performance.now();
    await a.service.revoke(next.record.id, 'after the proxy forwards again');
    let ms = Infinity;
    while (performance.now() - called < 2000) {
      if ((await statusOf(agent, portC, '/orders', next.key)) === 401) {
        ms = performance.now() - called;
        break;
      }
    }
    expect(ms).toBeLessThan(1000);
  });
});
