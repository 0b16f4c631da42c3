import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyVerifier, generateApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp } from '../support/test-app.js';

/**
 * Refused uses of known keys are written by the request path's own recorder
 * (not the audit log of the write side): one event per key per interval,
 * nothing for unknown or malformed keys, and what is pending at shutdown is
 * written before the DataSource closes.
 */

const isEventInsert = (sql: string) => /^INSERT INTO\s+\S*api_key_events\b/i.test(sql.trim());

describe('refused-use recorder', () => {
  it('notes revoked, expired and exhausted keys once each, nothing for unknown ones, and writes them in one INSERT', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { auditUseIntervalMs: 60_000 } });
    try {
      const get = (key: string) => request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(401);
      const revoked = await t.service.issue({ name: 'revoked', scopes: ['orders:read'] });
      await t.service.revoke(revoked.record.id);
      const expired = await t.service.issue({
        name: 'expired',
        scopes: ['orders:read'],
        expiresAt: new Date(Date.now() + 150),
      });
      const spent = await t.service.issue({ name: 'spent', scopes: ['orders:read'], maxUses: 1 });
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', spent.key).expect(200);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const during = await t.queries.during(async () => {
        for (let i = 0; i < 3; i++) {
          await get(revoked.key);
          await get(expired.key);
          await get(spent.key);
          await get(generateApiKey({ prefix: 'sk' }));
          await get('sk_malformed');
        }
      });
      expect(during.filter(isEventInsert)).toEqual([]);

      const flushed = await t.queries.during(() => t.app.get(ApiKeyVerifier).refusedUses.flush());
      expect(flushed.filter(isEventInsert)).toHaveLength(1);
      const typesOf = async (id: string) =>
        (await t.service.listEvents({ keyId: id })).items
          .map((event) => event.type)
          .filter((type) => type.endsWith('_use'));
      expect(await typesOf(revoked.record.id)).toEqual(['revoked_use']);
      expect(await typesOf(expired.record.id)).toEqual(['expired_use']);
      expect(await typesOf(spent.record.id)).toEqual(['exhausted_use']);
      const all = await t.dataSource.query(
        'SELECT COUNT(*) AS n FROM ' + t.dataSource.driver.escape('api_key_events') + " WHERE type <> 'key_format'",
      );
      // issued x3, revoked x1, the three refused uses: nothing for the unknown or malformed keys (nor the key
      // format the app recorded at boot).
      expect(Number(all[0].n)).toBe(7);
    } finally {
      await t.close();
    }
  });

  it('writes what is pending when the app shuts down', async () => {
    const t = await createTestApp({ controllers: [OrdersController], options: { auditUseIntervalMs: 60_000 } });
    const { key, record } = await t.service.issue({ name: 'late', scopes: ['orders:read'] });
    await t.service.revoke(record.id);
    await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(401);
    const closing = await t.queries.during(() => t.close());
    expect(closing.filter(isEventInsert)).toHaveLength(1);
  });
});
