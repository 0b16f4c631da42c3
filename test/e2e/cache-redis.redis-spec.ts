import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Redis } from 'ioredis';
import { ApiKeyCacheInvalidator, redisInvalidationBus, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances on one SQLite file, both with the lookup cache on, a TTL
 * of a minute and the Redis pub/sub bus (REDIS_URL, default
 * redis://127.0.0.1:6379): a change through A reaches B's cache through Redis.
 * Run with `npm run test:redis`; an unreachable Redis fails the suite.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TTL_MS = 60_000;
const BOUND_MS = 1000;

/** A Redis client that fails fast instead of retrying forever. */
async function connectRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, {
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

describe('lookup cache on two instances, invalidated through Redis pub/sub (npm run test:redis)', () => {
  const clients: Redis[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'apikeys-redis-'));
  const sqliteFile = join(dir, 'keys.sqlite');
  let a: TestApp;
  let b: TestApp;
  // A test-run-specific channel, so parallel runs on one Redis never cross.
  const channel = `nestjs-opaque-keys-test:${process.pid}:${Date.now()}`;

  async function instance(joinDatabase: boolean): Promise<TestApp> {
    const [publisher, subscriber] = [await connectRedis(), await connectRedis()];
    clients.push(publisher, subscriber);
    const options: ApiKeyModuleOptions = {
      lastUsedIntervalMs: 0,
      cache: { ttlMs: TTL_MS, invalidation: redisInvalidationBus({ publisher, subscriber, channel }) },
    };
    return createTestApp({ controllers: [OrdersController], options, sqliteFile, joinDatabase });
  }

  beforeAll(async () => {
    if (testDatabase() !== 'sqlite')
      throw new Error('the Redis suite runs on a shared SQLite file: run it with npm run test:redis');
    a = await instance(false);
    b = await instance(true);
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const client of clients) client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (t: TestApp, key: string) => request(t.app.getHttpServer()).get('/orders').set('x-api-key', key);

  async function untilStatus(t: TestApp, key: string, status: number, since: number): Promise<number> {
    while (performance.now() - since < BOUND_MS * 2) {
      if ((await get(t, key)).status === status) return performance.now() - since;
    }
    return Infinity;
  }

  async function warm(scopes = ['orders:read']) {
    const issued = await a.service.issue({ name: 'redis', scopes });
    expect((await get(b, issued.key)).status).toBe(200);
    expect(await b.queries.during(async () => expect((await get(b, issued.key)).status).toBe(200))).toEqual([]);
    return issued;
  }

  it('both instances are subscribed and caching, with no per-instance warning', () => {
    for (const t of [a, b]) {
      expect(t.app.get(ApiKeyCacheInvalidator).caching).toBe(true);
      expect(t.logs.lines.some((line) => line.includes('API key cache is per instance'))).toBe(false);
    }
  });

  it(`revoke through A: B refuses within ${BOUND_MS} ms, long before the ${TTL_MS} ms TTL`, async () => {
    for (let trial = 0; trial < 10; trial++) {
      const { key, record } = await warm();
      const called = performance.now();
      await a.service.revoke(record.id, 'redis push');
      expect(await untilStatus(b, key, 401, called)).toBeLessThan(BOUND_MS);
    }
  });

  it(`scope removal through A: B answers 403 within ${BOUND_MS} ms`, async () => {
    const { key, record } = await warm(['orders:read', 'orders:write']);
    const called = performance.now();
    await a.service.updateScopes(record.id, ['orders:write']);
    expect(await untilStatus(b, key, 403, called)).toBeLessThan(BOUND_MS);
  });

  it("B's subscriber connection drops: B reads live (a revocation is seen on the next request) until it is back, then caches again", async () => {
    const { key, record } = await warm();
    const subscriber = clients[3]!;
    const invalidator = b.app.get(ApiKeyCacheInvalidator);
    const waitFor = async (caching: boolean) => {
      const until = Date.now() + 5000;
      while (invalidator.caching !== caching && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 5));
      return invalidator.caching;
    };
    subscriber.disconnect(); // no automatic reconnection: down until connect()
    expect(await waitFor(false)).toBe(false);
    // Live reads while it is down: each request is one lookup, and a change is seen at once.
    const live = await b.queries.during(async () => expect((await get(b, key)).status).toBe(200));
    expect(live.filter((sql) => /^SELECT/i.test(sql.trim()))).toHaveLength(1);
    await a.service.revoke(record.id, 'subscriber down');
    expect((await get(b, key)).status).toBe(401);
    // Back: subscribed again, caching again, and pushes arrive again.
    await subscriber.connect();
    expect(await waitFor(true)).toBe(true);
    const next = await warm();
    const called = performance.now();
    await a.service.revoke(next.record.id, 'after recovery');
    expect(await untilStatus(b, next.key, 401, called)).toBeLessThan(BOUND_MS);
  });
});
