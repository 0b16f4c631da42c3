import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { OrdersController } from '../support/controllers.js';
import { createTestApp } from '../support/test-app.js';

const isUpdate = (sql: string) => /^UPDATE .*"?lastUsedAt"?/i.test(sql.replace(/`/g, '"'));

describe('lastUsedAt write-behind', () => {
  it('writes no row on the request path and batches uses into one UPDATE per interval', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { lastUsedIntervalMs: 300 } });
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

      const flushed = await t.queries.during(() => new Promise((resolve) => setTimeout(resolve, 450)));
      expect(flushed.filter(isUpdate)).toHaveLength(1);
      const usedA = (await t.service.get(a.record.id)).lastUsedAt;
      const usedB = (await t.service.get(b.record.id)).lastUsedAt;
      expect(usedA).toBeInstanceOf(Date);
      expect(usedB?.getTime()).toBe(usedA?.getTime());
      expect(Date.now() - usedA!.getTime()).toBeLessThan(2000);
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
