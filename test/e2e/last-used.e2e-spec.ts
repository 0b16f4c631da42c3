import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { LastUsedRecorder } from '../../lib/verification/index.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp } from '../support/test-app.js';

const isUpdate = (sql: string) => /^UPDATE .*"?lastUsedAt"?/i.test(sql.replace(/`/g, '"'));

describe('lastUsedAt write-behind', () => {
  it('writes no row on the request path and batches uses into one UPDATE', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { lastUsedIntervalMs: 60_000 } });
    try {
      const a = await t.service.issue({ name: 'a', scopes: ['orders:read'] });
      const b = await t.service.issue({ name: 'b', scopes: ['orders:read'] });
      const during = await t.queries.during(async () => {
        for (let i = 0; i < 5; i++) {
          await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', a.key).expect(200);
          await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', b.key).expect(200);
        }
      });
      expect(during.filter((sql) => !/^SELECT/.test(sql))).toEqual([]);
      expect(during).toHaveLength(10);
      expect((await t.service.get(a.record.id)).lastUsedAt).toBeNull();

      const flushed = await t.queries.during(() => t.app.get(LastUsedRecorder).flush());
      expect(flushed.filter(isUpdate)).toHaveLength(1);
      const usedA = (await t.service.get(a.record.id)).lastUsedAt;
      const usedB = (await t.service.get(b.record.id)).lastUsedAt;
      expect(usedA).toBeInstanceOf(Date);
      expect(usedB?.getTime()).toBe(usedA?.getTime());
      expect(Date.now() - usedA!.getTime()).toBeLessThan(5000);

      // Within the interval, more uses of the same keys write nothing.
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', a.key).expect(200);
      expect((await t.queries.during(() => t.app.get(LastUsedRecorder).flush())).filter(isUpdate)).toHaveLength(0);
    } finally {
      await t.close();
    }
  });

  it('writes by itself once the interval has passed', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { lastUsedIntervalMs: 200 } });
    try {
      const { key, record } = await t.service.issue({ name: 'timer', scopes: ['orders:read'] });
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200);
      for (let waited = 0; waited < 5000 && !(await t.service.get(record.id)).lastUsedAt; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((await t.service.get(record.id)).lastUsedAt).toBeInstanceOf(Date);
    } finally {
      await t.close();
    }
  });

  it('flushes pending uses when the app shuts down', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { lastUsedIntervalMs: 60_000 } });
    const { key } = await t.service.issue({ name: 'c', scopes: ['orders:read'] });
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200);
    const before = t.queries.queries.length;
    await t.close();
    expect(t.queries.queries.slice(before).filter(isUpdate)).toHaveLength(1);
  });
});
