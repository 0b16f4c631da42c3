import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyValidationError, type ApiKeyModuleOptions, type RateLimitStorage } from 'nestjs-opaque-keys';
import { OrdersController, SelfRotateController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const controllers = [OrdersController, SelfRotateController];

/** Sends `GET /orders` with `key`. */
const get = (t: TestApp, key: string) => request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key);

/** `POST /keys/self/rotate` with `key`: the key rotates itself, through the guard. */
const selfRotate = (t: TestApp, key: string, graceMs = 0) =>
  request(t.app.getHttpServer()).post(`/keys/self/rotate?graceMs=${graceMs}`).set('X-API-Key', key);

describe('rate limits (default: rate-limiter-flexible in memory)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers, options: { rateLimit: { limit: 100, windowMs: 60_000 } } });
  });
  afterAll(() => t.close());

  it('answers over-limit requests with 429, Retry-After and RateLimit headers', async () => {
    const { key } = await t.service.issue({
      name: 'limited',
      scopes: ['orders:read'],
      rateLimit: { limit: 3, windowMs: 10_000 },
    });
    const first = await get(t, key).expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '3',
      'ratelimit-remaining': '2',
      'ratelimit-policy': '3;w=10',
    });
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(9);
    expect(first.headers['retry-after']).toBeUndefined();
    await get(t, key).expect(200);
    await get(t, key).expect(200);
    const refused = await get(t, key).expect(429);
    expect(refused.body).toEqual({
      statusCode: 429,
      message: 'Too many requests for this API key',
      error: 'Too Many Requests',
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(10);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  it('counts per family, and applies the module default to keys without their own', async () => {
    const a = await t.service.issue({ name: 'a', scopes: ['orders:read'], rateLimit: { limit: 1, windowMs: 10_000 } });
    const b = await t.service.issue({ name: 'b', scopes: ['orders:read'] });
    await get(t, a.key).expect(200);
    await get(t, a.key).expect(429);
    const other = await get(t, b.key).expect(200);
    expect(other.headers['ratelimit-limit']).toBe('100');
  });

  it('counts no refused request (401, 403)', async () => {
    const { key } = await t.service.issue({
      name: 'w',
      scopes: ['orders:read'],
      rateLimit: { limit: 2, windowMs: 10_000 },
    });
    // POST /orders needs orders:write: 403, not counted.
    for (let i = 0; i < 3; i++) await request(t.app.getHttpServer()).post('/orders').set('X-API-Key', key).expect(403);
    await get(t, key).expect(200);
    await get(t, key).expect(200);
    await get(t, key).expect(429);
  });

  it('counts in fixed windows: the limit per window, a fresh count in the next one', async () => {
    const { key } = await t.service.issue({
      name: 'fixed',
      scopes: ['orders:read'],
      rateLimit: { limit: 4, windowMs: 400 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(t, key)).status);
    // Six requests well within 400 ms: the first window lets exactly 4 through.
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    await sleep(450);
    const next = await get(t, key).expect(200);
    expect(next.headers['ratelimit-remaining']).toBe('3');
  });

  it('lets the window reset under steady traffic, at most twice the limit across a window edge', async () => {
    const { key } = await t.service.issue({
      name: 'steady',
      scopes: ['orders:read'],
      rateLimit: { limit: 4, windowMs: 400 },
    });
    const started = Date.now();
    const passes: number[] = [];
    while (Date.now() - started < 1500) {
      const res = await get(t, key);
      expect([200, 429]).toContain(res.status);
      if (res.status === 200) passes.push(Date.now() - started);
      await sleep(25);
    }
    // A window that never reset would allow 4 in total. Fixed windows allow 4 per
    // window: in any span shorter than a window, at most 2 windows' worth (the edge burst).
    expect(passes.length).toBeGreaterThanOrEqual(10);
    expect(passes.filter((at) => at >= 1000).length).toBeGreaterThan(0);
    for (const at of passes)
      expect(passes.filter((other) => other >= at && other < at + 300).length).toBeLessThanOrEqual(8);
  });

  it('spends no use and writes nothing on a rate-limited request', async () => {
    const { key, record } = await t.service.issue({
      name: 'uses',
      scopes: ['orders:read'],
      maxUses: 10,
      rateLimit: { limit: 1, windowMs: 10_000 },
    });
    await get(t, key).expect(200);
    const statements = await t.queries.during(() => get(t, key).expect(429));
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

  it('a key cannot get more by rotating itself: the family shares one budget, and self-rotation is counted', async () => {
    let { key } = await t.service.issue({
      name: 'self',
      scopes: ['orders:read'],
      rateLimit: { limit: 3, windowMs: 60_000 },
    });
    let passes = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const read = await get(t, key);
      statuses.push(read.status);
      if (read.status === 200) passes++;
      const rotated = await selfRotate(t, key);
      statuses.push(rotated.status);
      if (rotated.status === 201) {
        passes++;
        key = rotated.body.key;
      }
    }
    // 3 passes in all (reads and rotations), then 429 for every request, rotation included.
    expect(passes).toBe(3);
    expect(statuses.slice(0, 3)).toEqual([200, 201, 200]);
    expect(statuses.slice(3).every((status) => status === 429)).toBe(true);
  });

  it('with grace, the old and the new key share one budget', async () => {
    const { key: old, record } = await t.service.issue({
      name: 'grace',
      scopes: ['orders:read'],
      rateLimit: { limit: 4, windowMs: 60_000 },
    });
    await get(t, old).expect(200);
    const { key: next } = await t.service.rotate(record.id, { gracePeriodMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await get(t, old)).status, (await get(t, next)).status);
    }
    // Both keys live; together they get the 3 requests the family had left.
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3).every((status) => status === 429)).toBe(true);
  });
});

describe('ownerRateLimit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers, options: { ownerRateLimit: { limit: 3, windowMs: 60_000 } } });
  });
  afterAll(() => t.close());

  it('makes two keys of one owner share the owner budget', async () => {
    const a = await t.service.issue({ name: 'a', ownerId: 'acme', scopes: ['orders:read'] });
    const b = await t.service.issue({ name: 'b', ownerId: 'acme', scopes: ['orders:read'] });
    const first = await get(t, a.key).expect(200);
    expect(first.headers).toMatchObject({
      'ratelimit-limit': '3',
      'ratelimit-remaining': '2',
      'ratelimit-policy': '3;w=60',
    });
    await get(t, b.key).expect(200);
    await get(t, a.key).expect(200);
    const refused = await get(t, b.key).expect(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await get(t, a.key).expect(429);
    // A third key of the same owner gets nothing more; another owner has its own budget.
    const c = await t.service.issue({ name: 'c', ownerId: 'acme', scopes: ['orders:read'] });
    await get(t, c.key).expect(429);
    const other = await t.service.issue({ name: 'o', ownerId: 'globex', scopes: ['orders:read'] });
    await get(t, other.key).expect(200);
  });

  it('does not limit keys without an owner', async () => {
    const { key } = await t.service.issue({ name: 'ownerless', scopes: ['orders:read'] });
    for (let i = 0; i < 5; i++) {
      const res = await get(t, key).expect(200);
      expect(res.headers['ratelimit-limit']).toBeUndefined();
    }
  });

  it("reports the tighter of the key's and the owner's limits, and a refusal by one spends nothing of the other", async () => {
    const tight = await t.service.issue({
      name: 'tight',
      ownerId: 'initech',
      scopes: ['orders:read'],
      rateLimit: { limit: 1, windowMs: 60_000 },
    });
    const loose = await t.service.issue({
      name: 'loose',
      ownerId: 'initech',
      scopes: ['orders:read'],
      rateLimit: { limit: 50, windowMs: 60_000 },
    });
    const first = await get(t, tight.key).expect(200);
    expect(first.headers).toMatchObject({ 'ratelimit-limit': '1', 'ratelimit-remaining': '0' });
    // Refused by its own limit: the owner's count is given back.
    await get(t, tight.key).expect(429);
    await get(t, tight.key).expect(429);
    const second = await get(t, loose.key).expect(200);
    expect(second.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '1' });
    await get(t, loose.key).expect(200);
    const refused = await get(t, loose.key).expect(429);
    expect(refused.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0' });
  });
});

describe("rateLimitBackend: 'database' (shared by instances on one database)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-rl-'));
  const sqliteFile = join(dir, 'keys.sqlite');
  const options: ApiKeyModuleOptions = { rateLimitBackend: 'database' };
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ controllers, options, sqliteFile });
    b = await createTestApp({ controllers, options, sqliteFile, joinDatabase: true });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts a family once across instances, rotation with grace included', async () => {
    const { key: old, record } = await a.service.issue({
      name: 'shared',
      scopes: ['orders:read'],
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
    await get(a, old).expect(200);
    await get(b, old).expect(200);
    const { key: next } = await a.service.rotate(record.id, { gracePeriodMs: 60_000 });
    const statuses: number[] = [];
    for (const [app, key] of [
      [a, next],
      [b, old],
      [b, next],
      [a, old],
      [b, next],
      [a, next],
    ] as const)
      statuses.push((await get(app, key)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });

  it('never lets a family pass its limit under concurrency, on both instances and both keys', async () => {
    const { key: old, record } = await a.service.issue({
      name: 'burst',
      scopes: ['orders:read'],
      rateLimit: { limit: 7, windowMs: 60_000 },
    });
    const { key: next } = await a.service.rotate(record.id, { gracePeriodMs: 60_000 });
    const responses = await Promise.all(Array.from({ length: 24 }, (_, i) => get(i % 2 ? a : b, i % 3 ? old : next)));
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(7);
    expect(statuses.filter((status) => status === 429)).toHaveLength(17);
  });

  it('self-rotation on another instance is counted in the same budget', async () => {
    let { key } = await a.service.issue({
      name: 'self',
      scopes: ['orders:read'],
      rateLimit: { limit: 3, windowMs: 60_000 },
    });
    let passes = 0;
    for (let i = 0; i < 4; i++) {
      if ((await get(a, key)).status === 200) passes++;
      const rotated = await selfRotate(b, key);
      if (rotated.status === 201) {
        passes++;
        key = rotated.body.key;
      }
    }
    expect(passes).toBe(3);
  });

  it('fails closed: 503 with Retry-After when the counter table cannot be written', async () => {
    const { key } = await a.service.issue({
      name: 'down',
      scopes: ['orders:read'],
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
    await get(a, key).expect(200);
    await a.dataSource.query('DROP TABLE api_key_rate_limits');
    const res = await get(a, key).expect(503);
    expect(res.headers['retry-after']).toBe('5');
    // Keys without a limit are not affected.
    const free = await a.service.issue({ name: 'free', scopes: ['orders:read'] });
    await get(a, free.key).expect(200);
  });
});

describe('a @nestjs/throttler storage as the counter (rateLimitStorage)', () => {
  it('counts in the real ThrottlerStorageService, per family', async () => {
    // The real @nestjs/throttler in-memory storage (in a child process: see throttler-storage.ts).
    const storage = await ThrottlerStorageProcess.start();
    const t = await createTestApp({ controllers, options: { rateLimitStorage: storage } });
    try {
      const { key: old, record } = await t.service.issue({
        name: 'throttler',
        scopes: ['orders:read'],
        rateLimit: { limit: 3, windowMs: 10_000 },
      });
      const first = await get(t, old).expect(200);
      expect(first.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '2' });
      const { key: next } = await t.service.rotate(record.id, { gracePeriodMs: 60_000 });
      await get(t, next).expect(200);
      await get(t, old).expect(200);
      const refused = await get(t, next).expect(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    } finally {
      await t.close();
      storage.stop();
    }
  });

  it('uses the storage given, never with the key in it, and fails closed when it fails', async () => {
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
      controllers,
      options: { rateLimit: { limit: 5, windowMs: 5000 }, rateLimitStorage: storage },
    });
    try {
      const { key, record } = await t.service.issue({ name: 's', scopes: ['orders:read'] });
      await get(t, key).expect(200);
      expect(seen).toEqual([`api-key:family:${record.id}:5000:5`]);
      expect(seen.join()).not.toContain(key);
      failing = true;
      const res = await get(t, key).expect(503);
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      await t.close();
    }
  });
});
