import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyValidationError, type RateLimitStorage } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('per-key rate limits', () => {
  let t: TestApp;
  let storage: ThrottlerStorageProcess;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    // The real @nestjs/throttler in-memory storage (in a child process: see throttler-storage.ts).
    storage = await ThrottlerStorageProcess.start();
    t = await createTestApp({
      controllers: [OrdersController],
      options: { rateLimit: { limit: 100, windowMs: 60_000 }, rateLimitStorage: storage },
    });
  });
  afterAll(async () => {
    await t.close();
    storage.stop();
  });

  it('answers over-limit requests with 429, Retry-After and RateLimit headers', async () => {
    const { key } = await t.service.issue({
      name: 'limited',
      scopes: ['orders:read'],
      rateLimit: { limit: 3, windowMs: 10_000 },
    });
    const first = await http().get('/orders').set('X-API-Key', key).expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '3',
      'ratelimit-remaining': '2',
      'ratelimit-policy': '3;w=10',
    });
    await http().get('/orders').set('X-API-Key', key).expect(200);
    await http().get('/orders').set('X-API-Key', key).expect(200);
    const refused = await http().get('/orders').set('X-API-Key', key).expect(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      message: 'Too many requests for this API key',
      error: 'Too Many Requests',
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(10);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  it('counts per key, and applies the module default to keys without their own', async () => {
    const a = await t.service.issue({ name: 'a', scopes: ['orders:read'], rateLimit: { limit: 1, windowMs: 10_000 } });
    const b = await t.service.issue({ name: 'b', scopes: ['orders:read'] });
    await http().get('/orders').set('X-API-Key', a.key).expect(200);
    await http().get('/orders').set('X-API-Key', a.key).expect(429);
    const other = await http().get('/orders').set('X-API-Key', b.key).expect(200);
    expect(other.headers['ratelimit-limit']).toBe('100');
  });

  it('lets the window reset under steady traffic', async () => {
    const { key } = await t.service.issue({
      name: 'steady',
      scopes: ['orders:read'],
      rateLimit: { limit: 4, windowMs: 400 },
    });
    const started = Date.now();
    const passes: number[] = [];
    while (Date.now() - started < 1500) {
      const res = await http().get('/orders').set('X-API-Key', key);
      expect([200, 429]).toContain(res.status);
      if (res.status === 200) passes.push(Date.now() - started);
      await sleep(25);
    }
    // A window that never reset would allow 4 in total; a sliding 400 ms window keeps
    // letting requests through, never more than 4 in a span (300 ms: client-side times
    // are the responses', not the server's counting instants).
    expect(passes.length).toBeGreaterThanOrEqual(10);
    expect(passes.filter((at) => at >= 1000).length).toBeGreaterThan(0);
    for (const at of passes)
      expect(passes.filter((other) => other >= at && other < at + 300).length).toBeLessThanOrEqual(4);
  });

  it('spends no use and writes nothing on a rate-limited request', async () => {
    const { key, record } = await t.service.issue({
      name: 'uses',
      scopes: ['orders:read'],
      maxUses: 10,
      rateLimit: { limit: 1, windowMs: 10_000 },
    });
    await http().get('/orders').set('X-API-Key', key).expect(200);
    const statements = await t.queries.during(() => http().get('/orders').set('X-API-Key', key).expect(429));
    expect(statements).toHaveLength(1);
    expect((await t.service.get(record.id)).remainingUses).toBe(9);
  });

  it('keeps the limit on rotation and validates it', async () => {
    const { record } = await t.service.issue({ name: 'rot', rateLimit: { limit: 7, windowMs: 1000 } });
    const rotated = await t.service.rotate(record.id);
    expect(rotated.record).toMatchObject({ rateLimitMax: 7, rateLimitWindowMs: 1000 });
    for (const bad of [{ limit: 0, windowMs: 1000 }, { limit: 1, windowMs: 0 }, { limit: 1.5, windowMs: 10 }, 'fast']) {
      await expect(t.service.issue({ name: 'bad', rateLimit: bad as never })).rejects.toBeInstanceOf(
        ApiKeyValidationError,
      );
    }
  });
});

describe('rate-limit storage', () => {
  it('uses the storage given (a @nestjs/throttler ThrottlerStorage), and fails closed when it fails', async () => {
    const seen: string[] = [];
    let failing = false;
    const storage: RateLimitStorage = {
      async increment(key, ttl, limit) {
        if (failing) throw new Error('redis down');
        seen.push(`${key}:${ttl}:${limit}`);
        return { totalHits: 1, timeToExpire: 5, isBlocked: false, timeToBlockExpire: 0 };
      },
    };
    const t = await createTestApp({
      controllers: [OrdersController],
      options: { rateLimit: { limit: 5, windowMs: 5000 }, rateLimitStorage: storage },
    });
    try {
      const { key, record } = await t.service.issue({ name: 's', scopes: ['orders:read'] });
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200);
      expect(seen).toEqual([`api-key:family:${record.id}:5000:5`]);
      expect(seen.join()).not.toContain(key);
      failing = true;
      const res = await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(503);
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await t.close();
    }
  });
});
