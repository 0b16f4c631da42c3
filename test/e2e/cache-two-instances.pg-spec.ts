import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiKeyCacheInvalidator } from 'nestjs-opaque-keys';
import { PostgresInvalidationBus } from '../../lib/cache/index.js';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { statusOf } from '../support/http-status.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances on one PostgreSQL schema, both with the lookup cache on
 * and a TTL of a minute, so only the LISTEN/NOTIFY push can explain a change
 * reaching the other instance within a second. A third instance with the
 * cache on and no bus (`invalidation: 'local'`) is the control: it keeps
 * serving the stale row. Run with `npm run test:faults`.
 *
 * Set APIKEYS_STALENESS_OUT=<file> to get the measured delays as JSON (the
 * suite prints nothing).
 */

const TTL_MS = 60_000;
const BOUND_MS = 1000;
const TRIALS = 20;

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function get(port: number, apiKey: string, path = '/orders'): Promise<number> {
  return statusOf(agent, port, path, apiKey);
}

async function listening(t: TestApp): Promise<number> {
  await t.app.listen(0, '127.0.0.1');
  return (t.app.getHttpServer().address() as AddressInfo).port;
}

/** Requests `apiKey` from `port` back to back until the status is not `passing`; ms from `since` to that answer, or Infinity. */
async function untilRefused(
  port: number,
  apiKey: string,
  since: number,
  passing = 200,
): Promise<{ ms: number; status: number }> {
  while (performance.now() - since < BOUND_MS * 2) {
    const status = await get(port, apiKey);
    if (status !== passing) return { ms: performance.now() - since, status };
  }
  return { ms: Infinity, status: passing };
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

const summary = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2));
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), max: at(1) };
};

describe('lookup cache on two instances, invalidated through LISTEN/NOTIFY (npm run test:faults)', () => {
  let a: TestApp;
  let b: TestApp;
  let control: TestApp;
  let portB: number;
  let portControl: number;
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    if (testDatabase() !== 'postgres') {
      throw new Error(`this suite needs DB_TYPE=postgres (got ${testDatabase()}): run it with npm run test:faults`);
    }
    const options = { lastUsedIntervalMs: 0, cache: { ttlMs: TTL_MS } };
    a = await createTestApp({ controllers: [OrdersController], options });
    b = await createTestApp({ controllers: [OrdersController], options, joinDatabase: true });
    control = await createTestApp({
      controllers: [OrdersController],
      options: { ...options, cache: { ttlMs: TTL_MS, invalidation: 'local' } },
      joinDatabase: true,
    });
    portB = await listening(b);
    portControl = await listening(control);
  });

  afterAll(async () => {
    agent.destroy();
    await control?.close();
    await b?.close();
    await a?.close();
    if (process.env.APIKEYS_STALENESS_OUT)
      writeFileSync(process.env.APIKEYS_STALENESS_OUT, JSON.stringify(figures, null, 2));
  });

  const invalidatorOf = (t: TestApp) => t.app.get(ApiKeyCacheInvalidator);

  /** Issues a key through A and warms B's (and the control's) cache with it: the second request to B runs no SQL. */
  async function warmKey(scopes = ['orders:read']) {
    const issued = await a.service.issue({ name: 'pushed', scopes });
    expect(await get(portB, issued.key)).toBe(200);
    expect(await get(portControl, issued.key)).toBe(200);
    expect(await b.queries.during(async () => expect(await get(portB, issued.key)).toBe(200))).toEqual([]);
    return issued;
  }

  it('both instances listen on one channel', () => {
    for (const t of [a, b]) expect(invalidatorOf(t).invalidationBus).toBeInstanceOf(PostgresInvalidationBus);
    expect(invalidatorOf(b).caching).toBe(true);
    expect(invalidatorOf(control).invalidationBus).toBeUndefined();
  });

  it(`revoke through A: B refuses within ${BOUND_MS} ms (TTL ${TTL_MS} ms), every trial; the no-bus control still passes`, async () => {
    const fromCall: number[] = [];
    const fromResolve: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { key, record } = await warmKey();
      const called = performance.now();
      await a.service.revoke(record.id, 'push test');
      const resolved = performance.now();
      const refused = await untilRefused(portB, key, called);
      expect(refused.status).toBe(401);
      expect(refused.ms).toBeLessThan(BOUND_MS);
      fromCall.push(refused.ms);
      fromResolve.push(Math.max(0, refused.ms - (resolved - called)));
      if (trial === 0) expect(await get(portControl, key)).toBe(200); // only the push explains B
    }
    figures.revoke = { fromCallMs: summary(fromCall), fromResolveMs: summary(fromResolve) };
  });

  it(`scope removal through A: B answers 403 within ${BOUND_MS} ms`, async () => {
    const fromCall: number[] = [];
    for (let trial = 0; trial < 10; trial++) {
      const { key, record } = await warmKey(['orders:read', 'orders:write']);
      const called = performance.now();
      await a.service.updateScopes(record.id, ['orders:write']);
      const refused = await untilRefused(portB, key, called);
      expect(refused.status).toBe(403);
      expect(refused.ms).toBeLessThan(BOUND_MS);
      fromCall.push(refused.ms);
    }
    figures.scopeRemoval = { fromCallMs: summary(fromCall) };
  });

  it('B loses its listener (pg_terminate_backend): it reads live, sees a revocation on the next request, and recovers', async () => {
    const bus = invalidatorOf(b).invalidationBus as PostgresInvalidationBus;
    // The listener reconnects within ~100 ms; a round in which it came back
    // before the revocation was checked proves nothing, so it is run again.
    let proved = false;
    for (let round = 0; round < 5 && !proved; round++) {
      const { key, record } = await warmKey();
      const pid = bus.listenerPid;
      expect(pid).toBeDefined();
      await a.dataSource.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await waitFor(() => !invalidatorOf(b).caching, 2000)).toBe(true);
      // Live reads now: each request is one lookup...
      const live = await b.queries.during(async () => expect(await get(portB, key)).toBe(200));
      await a.service.revoke(record.id, 'listener down');
      const status = await get(portB, key); // ...so the revocation is seen at once
      if (invalidatorOf(b).caching) continue; // came back mid-round: inconclusive
      expect(live.filter((sql) => /^SELECT/i.test(sql.trim()))).toHaveLength(1);
      expect(status).toBe(401);
      proved = true;
    }
    expect(proved).toBe(true);
    // Recovery: listening again on a new connection, caching again, pushes arrive again.
    expect(await waitFor(() => invalidatorOf(b).caching, 5000)).toBe(true);
    expect(bus.listenerPid).toBeDefined();
    const { key, record } = await warmKey();
    const called = performance.now();
    await a.service.revoke(record.id, 'after recovery');
    const refused = await untilRefused(portB, key, called);
    expect(refused.status).toBe(401);
    expect(refused.ms).toBeLessThan(BOUND_MS);
    figures.afterRecovery = { fromCallMs: Number(refused.ms.toFixed(2)) };
  });
});
