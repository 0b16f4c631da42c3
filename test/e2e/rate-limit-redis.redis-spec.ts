import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Redis } from 'ioredis';
import type { ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances on one SQLite file counting rate limits in one Redis
 * (REDIS_URL, default redis://127.0.0.1:6379) through rate-limiter-flexible.
 * Run with `npm run test:redis`; an unreachable Redis fails the suite.
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function connectRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`the Redis suite needs Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`);
  }
  return client;
}

describe('rateLimitBackend: { redis } on two instances (npm run test:redis)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'apikeys-rl-redis-'));
  const sqliteFile = join(dir, 'keys.sqlite');
  const clients: Redis[] = [];
  let a: TestApp;
  let b: TestApp;
  // Owner ids unique to this run, so parallel runs on one Redis never share a counter.
  const owner = `owner-${randomUUID()}`;

  async function instance(joinDatabase: boolean): Promise<TestApp> {
    const redis = await connectRedis();
    clients.push(redis);
    const options: ApiKeyModuleOptions = {
      rateLimitBackend: { redis },
      ownerRateLimit: { limit: 4, windowMs: 60_000 },
    };
    return createTestApp({ controllers: [OrdersController], options, sqliteFile, joinDatabase });
  }

  beforeAll(async () => {
    a = await instance(false);
    b = await instance(true);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const client of clients) client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (t: TestApp, key: string) => request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key);

  it('counts a family once across instances, through rotation with grace', async () => {
    const { key: old, record } = await a.service.issue({
      name: 'redis',
      scopes: ['orders:read'],
      rateLimit: { limit: 3, windowMs: 60_000 },
    });
    const first = await get(a, old).expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '3',
      'ratelimit-remaining': '2',
      'ratelimit-policy': '3;w=60',
    });
    const { key: next } = await a.service.rotate(record.id, { gracePeriodMs: 60_000 });
    await get(b, next).expect(200);
    await get(b, old).expect(200);
    const refused = await get(a, next).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await get(b, old).expect(429);
  });

  it("shares an owner's budget between its keys and instances", async () => {
    const keys = await Promise.all(
      [1, 2, 3].map((i) => a.service.issue({ name: `o${i}`, ownerId: owner, scopes: ['orders:read'] })),
    );
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(i % 2 ? a : b, keys[i % 3].key)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('fails closed: 503 when Redis is not connected', async () => {
    const { key } = await b.service.issue({
      name: 'down',
      scopes: ['orders:read'],
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
    await get(b, key).expect(200);
    clients[1].disconnect();
    const res = await get(b, key).expect(503);
    expect(res.headers['retry-after']).toBe('5');
  });
});
