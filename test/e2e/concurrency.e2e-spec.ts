import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { ApiKeyStateError, ApiKeyStoreUnavailableError } from 'nestjs-opaque-keys';
import { IsNull } from 'typeorm';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// Runs on every DB_TYPE. On PostgreSQL / MariaDB the apps of this file share
// the file's schema; on SQLite they share a temporary database file, since
// an in-memory database belongs to one connection.
describe(`concurrency on ${testDatabase()}`, () => {
  let dir: string;
  let a: TestApp;
  let b: TestApp;
  const keys = (t: TestApp) => t.dataSource.getRepository('ApiKeyEntity');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apikeys-concurrency-'));
    const sqliteFile = join(dir, 'keys.sqlite');
    a = await createTestApp({ controllers: [OrdersController], sqliteFile });
    b = await createTestApp({ controllers: [OrdersController], sqliteFile, joinDatabase: true });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('of 20 concurrent rotations of one key exactly one wins and leaves one live successor', async () => {
    const { key, record } = await a.service.issue({ name: 'contended', ownerId: 'rotations', scopes: ['orders:read'] });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => a.service.rotate(record.id)));

    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const reason of lost) expect(reason).toBeInstanceOf(ApiKeyStateError);

    const rows = await keys(a).findBy({ ownerId: 'rotations' });
    expect(rows).toHaveLength(2);
    const live = await keys(a).findBy({ ownerId: 'rotations', revokedAt: IsNull(), replacedById: IsNull() });
    expect(live.map((row) => row.id)).toEqual([won[0].record.id]);
    expect(rows.find((row) => row.id === record.id)).toMatchObject({
      replacedById: won[0].record.id,
      revokedReason: 'rotated',
    });
    expect((await a.service.verify(key)).valid).toBe(false);
    expect((await a.service.verify(won[0].key)).valid).toBe(true);
  });

  it('of concurrent rotations through two apps exactly one wins', async () => {
    const { record } = await a.service.issue({ name: 'two-apps', ownerId: 'cross-rotations' });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.rotate(record.id)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      // Two connections to one SQLite file in one process cannot wait for each
      // other's locks: a loser may get SQLITE_BUSY (the store error) instead of
      // the state error. Either way it changed nothing.
      if (testDatabase() === 'sqlite' && r.reason instanceof ApiKeyStoreUnavailableError) {
        expect((r.reason.cause as { code?: string }).code).toBe('SQLITE_BUSY');
      } else {
        expect(r.reason).toBeInstanceOf(ApiKeyStateError);
      }
    }
    expect(await keys(a).countBy({ ownerId: 'cross-rotations' })).toBe(2);
    expect(await keys(a).countBy({ ownerId: 'cross-rotations', revokedAt: IsNull(), replacedById: IsNull() })).toBe(1);
  });

  it('refuses every request that starts after revoke() resolved, during a burst', async () => {
    const { key, record } = await a.service.issue({ name: 'burst', scopes: ['orders:read'] });
    const http = request(a.app.getHttpServer());
    const outcomes: { started: number; status: number }[] = [];
    let revokedAt = Infinity;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const started = performance.now();
        const res = await http.get('/orders').set('X-API-Key', key);
        outcomes.push({ started, status: res.status });
      }
    };
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    const clients = Array.from({ length: 6 }, client);
    try {
      await until(() => outcomes.length >= 30);
      await a.service.revoke(record.id, 'burst');
      revokedAt = performance.now();
      await until(() => outcomes.filter((o) => o.started > revokedAt).length >= 60);
    } finally {
      stop = true;
      await Promise.all(clients);
    }

    const before = outcomes.filter((o) => o.started < revokedAt);
    const after = outcomes.filter((o) => o.started > revokedAt);
    expect(before.filter((o) => o.status === 200).length).toBeGreaterThanOrEqual(30);
    expect(after.filter((o) => o.status === 200)).toEqual([]);
    expect(new Set(after.map((o) => o.status))).toEqual(new Set([401]));
    // Requests in flight while revoke() ran may go either way, but nothing else.
    for (const o of outcomes) expect([200, 401]).toContain(o.status);
  });

  it('sees a revocation or scope change made through the other app on the next request', async () => {
    const get = (t: TestApp, key: string) => request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key);

    const first = await a.service.issue({ name: 'shared-1', scopes: ['orders:read'] });
    await get(a, first.key).expect(200);
    await get(b, first.key).expect(200);
    await a.service.revoke(first.record.id);
    await get(b, first.key).expect(401);
    await get(a, first.key).expect(401);

    const second = await b.service.issue({ name: 'shared-2', scopes: ['orders:read'] });
    await get(a, second.key).expect(200);
    await b.service.updateScopes(second.record.id, ['orders:write']);
    await get(a, second.key).expect(403);
    await b.service.updateScopes(second.record.id, ['orders:*']);
    await get(a, second.key).expect(200);
    await b.service.revoke(second.record.id);
    await get(a, second.key).expect(401);
    await get(b, second.key).expect(401);
  });
});
