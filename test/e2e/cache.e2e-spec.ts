import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyCacheInvalidator, ApiKeyStateError, generateApiKey } from 'nestjs-opaque-keys';
import { PostgresInvalidationBus } from '../../lib/cache/index.js';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The optional lookup cache (`cache` option) in one instance, over HTTP, on
 * the suite's database (SQLite by default: the cache is then per instance;
 * on PostgreSQL the LISTEN/NOTIFY bus is on too). Changes made through the
 * service take effect on the very next request.
 */

const lookupsOf = (statements: string[]) => statements.filter((sql) => /^SELECT/i.test(sql.trim()));

describe('lookup cache (cache option)', () => {
  let t: TestApp;
  const get = (key: string, path = '/orders') => request(t.app.getHttpServer()).get(path).set('x-api-key', key);

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { lastUsedIntervalMs: 0, cache: { ttlMs: 60_000 } },
    });
  });
  afterAll(() => t.close());

  it('answers a repeated key from memory: the second request runs no SQL at all', async () => {
    const { key } = await t.service.issue({ name: 'hot', scopes: ['orders:read'] });
    const first = await t.queries.during(async () => expect((await get(key)).status).toBe(200));
    expect(lookupsOf(first)).toHaveLength(1);
    const second = await t.queries.during(async () => expect((await get(key)).status).toBe(200));
    expect(second).toEqual([]);
  });

  it('never caches unknown keys: each one is looked up', async () => {
    const unknown = generateApiKey({ prefix: 'sk' });
    for (let i = 0; i < 3; i++) {
      const statements = await t.queries.during(async () => expect((await get(unknown)).status).toBe(401));
      expect(lookupsOf(statements)).toHaveLength(1);
    }
  });

  it('revoke through this instance: the very next request is refused', async () => {
    const { key, record } = await t.service.issue({ name: 'to revoke', scopes: ['orders:read'] });
    expect((await get(key)).status).toBe(200);
    expect(await t.queries.during(async () => expect((await get(key)).status).toBe(200))).toEqual([]);
    await t.service.revoke(record.id, 'cache test');
    expect((await get(key)).status).toBe(401);
  });

  it('updateScopes through this instance: the very next request sees the new scopes', async () => {
    const { key, record } = await t.service.issue({ name: 'narrowed', scopes: ['orders:read'] });
    expect((await get(key)).status).toBe(200);
    await t.service.updateScopes(record.id, ['orders:write']);
    expect((await get(key)).status).toBe(403);
    await t.service.updateScopes(record.id, ['orders:read']);
    expect((await get(key)).status).toBe(200);
  });

  it('rotate through this instance: the old key stops on the next request, the successor works', async () => {
    const { key, record } = await t.service.issue({ name: 'rotated', scopes: ['orders:read'] });
    expect((await get(key)).status).toBe(200);
    const successor = await t.service.rotate(record.id);
    expect((await get(key)).status).toBe(401);
    expect((await get(successor.key)).status).toBe(200);
  });

  it('rotate with a grace period: the old key keeps working with its shortened expiry', async () => {
    const { key, record } = await t.service.issue({ name: 'graced', scopes: ['orders:read'] });
    expect((await get(key)).status).toBe(200);
    await t.service.rotate(record.id, { gracePeriodMs: 60_000 });
    const response = await get(key);
    expect(response.status).toBe(200);
    expect(new Date(response.body.principal.expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('reuse of a rotated key revokes the whole family, cached members included', async () => {
    const { key } = await t.service.issue({ name: 'family', scopes: ['orders:read'] });
    const second = await t.service.rotateByKey(key);
    const third = await t.service.rotateByKey(second.key);
    expect((await get(third.key)).status).toBe(200); // cached now
    await expect(t.service.rotateByKey(key)).rejects.toBeInstanceOf(ApiKeyStateError);
    expect((await get(third.key)).status).toBe(401);
  });

  it('a single-use key is spent once: the conditional UPDATE refuses the second use even with its row cached', async () => {
    const { key } = await t.service.issue({ name: 'once', scopes: ['orders:read'], maxUses: 1 });
    expect((await get(key)).status).toBe(200);
    const second = await t.queries.during(async () => expect((await get(key)).status).toBe(401));
    expect(lookupsOf(second)).toEqual([]); // the row came from the cache...
    expect(second.filter((sql) => /^UPDATE/i.test(sql.trim()))).toHaveLength(1); // ...and the UPDATE said no
    expect((await get(key)).status).toBe(401);
  });

  it('expiry is checked against the clock on every request, cached or not', async () => {
    const { key } = await t.service.issue({
      name: 'short-lived',
      scopes: ['orders:read'],
      expiresAt: new Date(Date.now() + 400),
    });
    expect((await get(key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await get(key)).status).toBe(401);
  });

  it('a handler changing its principal does not change the cached row', async () => {
    const { key } = await t.service.issue({ name: 'copied', scopes: ['orders:read'] });
    expect((await get(key)).body.principal.scopes).toEqual(['orders:read']);
    expect((await get(key)).body.principal.scopes).toEqual(['orders:read']);
  });

  it('is on', () => {
    expect(t.app.get(ApiKeyCacheInvalidator).caching).toBe(true);
  });

  it('invalidates other instances through LISTEN/NOTIFY on PostgreSQL; elsewhere, with no bus, warns once that the cache is per instance', () => {
    const warnings = t.logs.lines.filter((line) => line.includes('API key cache is per instance'));
    const bus = t.app.get(ApiKeyCacheInvalidator).invalidationBus;
    if (testDatabase() === 'postgres') {
      expect(bus).toBeInstanceOf(PostgresInvalidationBus);
      expect(warnings).toEqual([]);
    } else {
      expect(bus).toBeUndefined();
      expect(warnings).toHaveLength(1);
    }
  });
});

describe('lookup cache TTL', () => {
  it('a change made behind the library (raw SQL) is seen once the entry expires', async () => {
    const t = await createTestApp({
      controllers: [OrdersController],
      options: { lastUsedIntervalMs: 0, cache: { ttlMs: 300 } },
    });
    try {
      const get = (key: string) => request(t.app.getHttpServer()).get('/orders').set('x-api-key', key);
      const { key, record } = await t.service.issue({ name: 'raw', scopes: ['orders:read'] });
      expect((await get(key)).status).toBe(200);
      await t.dataSource.getRepository('ApiKeyEntity').update({ id: record.id }, { revokedAt: new Date() });
      expect((await get(key)).status).toBe(200); // served from the cache, as documented
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await get(key)).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe('without the cache option', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { lastUsedIntervalMs: 0 } });
  });
  afterAll(() => t.close());

  it('every request reads the database, in one statement, and changes run no extra statement', async () => {
    const { key, record } = await t.service.issue({ name: 'live', scopes: ['orders:read'] });
    for (let i = 0; i < 2; i++) {
      const statements = await t.queries.during(() =>
        request(t.app.getHttpServer()).get('/orders').set('x-api-key', key).expect(200),
      );
      expect(statements).toHaveLength(1);
    }
    const revoke = await t.queries.during(() => t.service.revoke(record.id));
    expect(revoke.some((sql) => /notify/i.test(sql))).toBe(false);
    expect(t.app.get(ApiKeyCacheInvalidator).caching).toBe(false);
    expect(t.logs.lines.some((line) => line.includes('API key cache'))).toBe(false);
  });

  it('a database failure is still a 503 with the cache on, for a key not in the cache', async () => {
    const c = await createTestApp({ controllers: [OrdersController], options: { cache: {} } });
    try {
      const { key } = await c.service.issue({ name: 'down', scopes: ['orders:read'] });
      await c.dataSource.destroy();
      const response = await request(c.app.getHttpServer()).get('/orders').set('x-api-key', key);
      expect(response.status).toBe(503);
    } finally {
      await c.close();
    }
  });
});
