import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyCacheInvalidator, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { PostgresInvalidationBus } from '../../lib/cache/index.js';
import { OrdersController } from '../support/controllers.js';
import { serverUrl, testDatabase } from '../support/database.js';
import { statusOf } from '../support/http-status.js';
import { TcpProxy, type ProxyDirection } from '../support/tcp-proxy.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The invalidation listener's connection goes silent without closing (a
 * proxy or load balancer that dropped the flow, a partition): B's whole
 * DataSource goes through a TCP proxy, which stops forwarding one direction
 * of B's listener connection only (found by its port in pg_stat_activity),
 * so B's pool keeps working. A revokes a key B has cached; the TTL is a
 * minute, so only the heartbeat can explain B refusing it within
 * heartbeatIntervalMs + heartbeatTimeoutMs. Run with `npm run test:faults`.
 *
 * Set APIKEYS_HEARTBEAT_OUT=<file> for the measured figures as JSON.
 */

const TTL_MS = 60_000;
const INTERVAL_MS = 500;
const TIMEOUT_MS = 300;
/** Timer and event-loop slack on a loaded 2-core machine, on top of the bound. */
const MARGIN_MS = 400;
const BOUND_MS = INTERVAL_MS + TIMEOUT_MS;
const TRIALS = 8;

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

async function listening(t: TestApp): Promise<number> {
  await t.app.listen(0, '127.0.0.1');
  return (t.app.getHttpServer().address() as AddressInfo).port;
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

describe('cache with a silent LISTEN connection (black-holed by a proxy): heartbeat (npm run test:faults)', () => {
  let proxy: TcpProxy;
  let a: TestApp;
  let b: TestApp;
  let c: TestApp;
  let portB: number;
  let portC: number;
  let cClosed = false;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    if (testDatabase() !== 'postgres') {
      throw new Error(`this suite needs DB_TYPE=postgres (got ${testDatabase()}): run it with npm run test:faults`);
    }
    const server = new URL(serverUrl());
    proxy = await TcpProxy.start(server.hostname, Number(server.port || 5432));
    const proxied = new URL(server);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.listenPort);
    const options: ApiKeyModuleOptions = {
      lastUsedIntervalMs: 0,
      cache: { ttlMs: TTL_MS, heartbeatIntervalMs: INTERVAL_MS, heartbeatTimeoutMs: TIMEOUT_MS },
    };
    a = await createTestApp({ controllers: [OrdersController], options });
    b = await createTestApp({
      controllers: [OrdersController],
      options,
      joinDatabase: true,
      databaseUrl: `${proxied}`,
    });
    // C: the same through the proxy, with the default heartbeat (5 s / 2 s).
    c = await createTestApp({
      controllers: [OrdersController],
      options: { lastUsedIntervalMs: 0, cache: { ttlMs: TTL_MS } },
      joinDatabase: true,
      databaseUrl: `${proxied}`,
    });
    portB = await listening(b);
    portC = await listening(c);
  });

  afterAll(async () => {
    agent.destroy();
    if (!cClosed) await c?.close();
    await b?.close();
    await a?.close();
    await proxy?.close();
    if (process.env.APIKEYS_HEARTBEAT_OUT)
      writeFileSync(process.env.APIKEYS_HEARTBEAT_OUT, JSON.stringify(figures, null, 2));
  });

  const invalidatorOf = (t: TestApp) => t.app.get(ApiKeyCacheInvalidator);
  const busOf = (t: TestApp) => invalidatorOf(t).invalidationBus as PostgresInvalidationBus;
  // Nest's logger is process-wide: every app's lines reach the capture of the app created last (C). Only
  // one listener is silenced at a time, so the lines new since a trial began are that listener's.
  const logLines = () => c.logs.lines;
  const warnings = (_t: TestApp) => logLines().filter((l) => l.startsWith('warn') && l.includes('listener lost'));

  /** Issues a key through A and warms `t`'s cache with it: the second request runs no SQL. */
  async function warmKey(t: TestApp, port: number) {
    expect(await waitFor(() => invalidatorOf(t).caching, 10_000)).toBeLessThan(Infinity);
    const issued = await a.service.issue({ name: 'silent', scopes: ['orders:read'] });
    expect(await statusOf(agent, port, '/orders', issued.key)).toBe(200);
    expect(
      await t.queries.during(async () => expect(await statusOf(agent, port, '/orders', issued.key)).toBe(200)),
    ).toEqual([]);
    return issued;
  }

  /** Black-holes `direction` of `t`'s listener connection (only that one: the pool goes on working). */
  async function silenceListener(t: TestApp, direction: ProxyDirection) {
    const pid = busOf(t).listenerPid;
    expect(pid).toBeDefined();
    const [{ client_port }] = (await a.dataSource.query('SELECT client_port FROM pg_stat_activity WHERE pid = $1', [
      pid,
    ])) as { client_port: number }[];
    const silenced = proxy.blackhole(direction, (conn) => conn.upstreamPort === client_port);
    expect(silenced).toHaveLength(1);
    return performance.now();
  }

  /**
   * One trial: silence `direction` of `t`'s listener, revoke through A a key
   * `t` has cached, then request it from `t` back to back, timing when `t`
   * stops caching (from the silence) and its first 401 (from the silence and
   * from the revoke). Every answer before the 401 must be the stale 200.
   */
  async function silentRevoke(t: TestApp, port: number, direction: ProxyDirection, limitMs: number) {
    const { key, record } = await warmKey(t, port);
    const warned = warnings(t).length;
    // Cut at a random point of the heartbeat cycle, so the figures sample every phase.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_MS));
    const silencedAt = await silenceListener(t, direction);
    await a.service.revoke(record.id, 'while the listener is silent');
    const revokedAt = performance.now();
    const firstAnswer = await statusOf(agent, port, '/orders', key);
    let suspendedAt = invalidatorOf(t).caching ? Infinity : performance.now();
    let refusedAt = firstAnswer === 401 ? performance.now() : Infinity;
    while (refusedAt === Infinity && performance.now() - silencedAt < limitMs * 2) {
      const status = await statusOf(agent, port, '/orders', key);
      if (!invalidatorOf(t).caching && suspendedAt === Infinity) suspendedAt = performance.now();
      if (status === 401) refusedAt = performance.now();
      else expect(status).toBe(200);
    }
    return {
      silencedAt,
      firstAnswer,
      caching: invalidatorOf(t).caching,
      suspendMs: Math.min(suspendedAt, refusedAt) - silencedAt,
      refusedFromSilenceMs: refusedAt - silencedAt,
      staleMs: refusedAt - revokedAt,
      newWarnings: warnings(t).slice(warned),
    };
  }

  it('B listens through the proxy, caching', () => {
    expect(busOf(b)).toBeInstanceOf(PostgresInvalidationBus);
    expect(invalidatorOf(b).caching).toBe(true);
    expect(proxy.connections.size).toBeGreaterThan(1);
  });

  it(`server-to-client black-holed: B stops serving the revoked key within ${BOUND_MS} ms (+${MARGIN_MS}), warns once, reports not caching, then recovers`, async () => {
    const suspend: number[] = [];
    const stale: number[] = [];
    let staleFirst = 0;
    for (let i = 0; i < TRIALS; i++) {
      const result = await silentRevoke(b, portB, 'toClient', BOUND_MS + MARGIN_MS);
      expect(result.refusedFromSilenceMs).toBeLessThan(BOUND_MS + MARGIN_MS);
      expect(result.caching).toBe(false); // reports that it is not caching
      expect(result.newWarnings).toHaveLength(1);
      expect(result.newWarnings[0]).toContain(`no answer to the listener heartbeat within ${TIMEOUT_MS} ms`);
      if (result.firstAnswer === 200) staleFirst++;
      suspend.push(result.suspendMs);
      stale.push(result.staleMs);
      // Recovers: a new listener connection through the proxy (the old flow stays black-holed), caching again,
      // with one warning for the outage.
      const warned = warnings(b).length;
      expect(await waitFor(() => invalidatorOf(b).caching, 5000)).toBeLessThan(Infinity);
      expect(warnings(b)).toHaveLength(warned);
    }
    expect(logLines().filter((l) => l.includes('listening again; the cache starts empty'))).toHaveLength(TRIALS);
    // The black hole really hid the NOTIFY: right after revoke() B still served the row (the first
    // probe can at the earliest time out TIMEOUT_MS after the silence).
    expect(staleFirst).toBeGreaterThanOrEqual(TRIALS - 1);
    figures.toClient = { INTERVAL_MS, TIMEOUT_MS, suspendMs: summary(suspend), staleMs: summary(stale), staleFirst };
  });

  it('client-to-server black-holed (NOTIFYs still arrive, the heartbeat does not): suspended within the bound too', async () => {
    const result = await silentRevoke(b, portB, 'toServer', BOUND_MS + MARGIN_MS);
    expect(result.refusedFromSilenceMs).toBeLessThan(BOUND_MS + MARGIN_MS); // by the push or by the suspension
    const warned = warnings(b).length - result.newWarnings.length;
    expect(await waitFor(() => !invalidatorOf(b).caching, BOUND_MS + MARGIN_MS)).toBeLessThan(Infinity);
    const suspendMs = performance.now() - result.silencedAt;
    expect(suspendMs).toBeLessThan(BOUND_MS + MARGIN_MS);
    expect(warnings(b).slice(warned)).toHaveLength(1);
    expect(await waitFor(() => invalidatorOf(b).caching, 5000)).toBeLessThan(Infinity);
    figures.toServer = { suspendMs: Math.round(suspendMs) };
  });

  it('after recovery, pushes arrive again on the new listener connection', async () => {
    const { key, record } = await warmKey(b, portB);
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
    expect(invalidatorOf(b).caching).toBe(true); // refused by the push, not by a suspension
  });

  it('default heartbeat (5 s / 2 s): a silent listener is caught within 7 s (+ margin), not the 60 s TTL', async () => {
    const result = await silentRevoke(c, portC, 'toClient', 7000 + MARGIN_MS);
    expect(result.firstAnswer).toBe(200); // stale at first: the NOTIFY was black-holed
    expect(result.refusedFromSilenceMs).toBeLessThan(7000 + MARGIN_MS);
    expect(result.caching).toBe(false);
    expect(result.newWarnings).toHaveLength(1);
    figures.defaults = { suspendMs: Math.round(result.suspendMs), staleMs: Math.round(result.staleMs) };
  }, 30_000);

  it('shutting down with a silent listener does not hang on the goodbye the server never answers', async () => {
    expect(await waitFor(() => invalidatorOf(c).caching, 10_000)).toBeLessThan(Infinity);
    await silenceListener(c, 'toServer');
    await silenceListener(c, 'toClient');
    const started = performance.now();
    cClosed = true;
    await c.close();
    expect(performance.now() - started).toBeLessThan(3000);
  }, 20_000);
});
