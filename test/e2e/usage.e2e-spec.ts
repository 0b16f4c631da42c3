import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyValidationError, generateApiKey } from 'nestjs-opaque-keys';
import { ApiKeyUsageReader, ApiKeyUsageRecorder, UNKNOWN_KEYS_ID, withUsage } from 'nestjs-opaque-keys/usage';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Per-key usage: counts by hour and outcome kept in memory and written in one
 * upsert per flush (never on the request path), exact after a burst; unknown
 * keys add to one `*` count, never a row of their own; flushed on shutdown.
 */

const isUsageWrite = (sql: string) => /^INSERT INTO\s+\S*api_key_usage\b/i.test(sql.trim());
const HOUR = 3_600_000;

async function usageRows(t: TestApp): Promise<{ keyId: string; outcome: string; count: number }[]> {
  const rows: { keyId: string; outcome: string; count: number }[] = await t.dataSource.query(
    `SELECT ${['keyId', 'outcome', 'count'].map((c) => t.dataSource.driver.escape(c)).join(', ')} FROM ${t.dataSource.driver.escape('api_key_usage')}`,
  );
  return rows
    .map((row) => ({ ...row, count: Number(row.count) }))
    .sort((a, b) => (a.keyId + a.outcome).localeCompare(b.keyId + b.outcome));
}

describe('per-key usage', () => {
  it('counts a burst exactly, writes nothing per request, and one upsert per flush', async () => {
    const t = await createTestApp({ controllers: [OrdersController], extras: { features: [withUsage()] } });
    try {
      const server = t.app.getHttpServer();
      const reader = await t.service.issue({ name: 'reader', ownerId: 'acme', scopes: ['orders:read'] });
      const revoked = await t.service.issue({ name: 'revoked', ownerId: 'acme', scopes: ['orders:read'] });
      await t.service.revoke(revoked.record.id);
      const during = await t.queries.during(async () => {
        for (let i = 0; i < 5; i++) await request(server).get('/orders').set('X-API-Key', reader.key).expect(200);
        for (let i = 0; i < 2; i++) await request(server).post('/orders').set('X-API-Key', reader.key).expect(403);
        for (let i = 0; i < 3; i++) await request(server).get('/orders').set('X-API-Key', revoked.key).expect(401);
        for (let i = 0; i < 20; i++)
          await request(server)
            .get('/orders')
            .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
            .expect(401);
        await request(server).get('/orders').set('X-API-Key', 'sk_malformed').expect(401);
      });
      expect(during.filter(isUsageWrite)).toEqual([]);

      // The hot path: one statement per verified request, and no write.
      const one = await t.queries.during(() => request(server).get('/orders').set('X-API-Key', reader.key).expect(200));
      expect(one).toHaveLength(1);
      expect(one[0]).toMatch(/^SELECT/i);

      const flushed = await t.queries.during(() => t.app.get(ApiKeyUsageRecorder).flush());
      expect(flushed).toHaveLength(1);
      expect(flushed.filter(isUsageWrite)).toHaveLength(1);
      expect(await usageRows(t)).toEqual([
        { keyId: UNKNOWN_KEYS_ID, outcome: 'invalid', count: 21 },
        ...[
          { keyId: reader.record.id, outcome: 'forbidden', count: 2 },
          { keyId: reader.record.id, outcome: 'verified', count: 6 },
          { keyId: revoked.record.id, outcome: 'invalid', count: 3 },
        ].sort((a, b) => (a.keyId + a.outcome).localeCompare(b.keyId + b.outcome)),
      ]);

      // Another burst adds to the same rows (the upsert), still one statement.
      for (let i = 0; i < 4; i++) await request(server).get('/orders').set('X-API-Key', reader.key).expect(200);
      await request(server)
        .get('/orders')
        .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
        .expect(401);
      expect((await t.queries.during(() => t.app.get(ApiKeyUsageRecorder).flush())).filter(isUsageWrite)).toHaveLength(
        1,
      );
      const rows = await usageRows(t);
      expect(rows).toHaveLength(4); // no row per forged key
      expect(rows.find((r) => r.keyId === reader.record.id && r.outcome === 'verified')?.count).toBe(10);
      expect(rows.find((r) => r.keyId === UNKNOWN_KEYS_ID)?.count).toBe(22);

      const now = Date.now();
      const series = await t.app.get(ApiKeyUsageReader).series({
        keyId: reader.record.id,
        from: new Date(now - 2 * HOUR),
        to: new Date(now + 1),
      });
      expect(series.points).toHaveLength(3);
      expect(series.points.slice(0, 2).map((p) => p.total)).toEqual([0, 0]);
      expect(series.points[2].counts).toEqual({
        verified: 10,
        invalid: 0,
        forbidden: 2,
        rate_limited: 0,
        out_of_credits: 0,
      });
      expect(series.totals.verified).toBe(10);
      const owner = await t.app.get(ApiKeyUsageReader).series({
        ownerId: 'acme',
        from: new Date(now - HOUR),
        to: new Date(now + 1),
        granularity: 'day',
      });
      expect(owner.granularity).toBe('day');
      expect(owner.totals).toEqual({ verified: 10, invalid: 3, forbidden: 2, rate_limited: 0, out_of_credits: 0 });
      await expect(
        t.app.get(ApiKeyUsageReader).series({ keyId: reader.record.id, from: new Date(now), to: new Date(now - 1) }),
      ).rejects.toBeInstanceOf(ApiKeyValidationError);
    } finally {
      await t.close();
    }
  });

  it('counts spent requests as out_of_credits, purges rows past the retention, and flushes on shutdown', async () => {
    const t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withUsage({ retentionMs: 24 * HOUR, flushIntervalMs: 60_000 })] },
    });
    let closed = false;
    try {
      const server = t.app.getHttpServer();
      const spent = await t.service.issue({ name: 's', scopes: ['orders:read'], maxUses: 1 });
      await request(server).get('/orders').set('X-API-Key', spent.key).expect(200);
      await request(server).get('/orders').set('X-API-Key', spent.key).expect(401);
      const recorder = t.app.get(ApiKeyUsageRecorder);
      // An old count, two days back: purged by the retention.
      recorder.record(spent.record.id, 'verified', Date.now() - 48 * HOUR);
      await recorder.flush();
      expect(await recorder.purge()).toBe(1);
      expect(await usageRows(t)).toEqual([
        { keyId: spent.record.id, outcome: 'out_of_credits', count: 1 },
        { keyId: spent.record.id, outcome: 'verified', count: 1 },
      ]);
      await request(server).get('/orders').set('X-API-Key', spent.key).expect(401);
      const shutdown = await t.queries.during(async () => {
        await t.close();
        closed = true;
      });
      expect(shutdown.filter(isUsageWrite)).toHaveLength(1);
    } finally {
      if (!closed) await t.close();
    }
  });

  it('keeps the counts of a failed flush and writes them with the next one', async () => {
    const t = await createTestApp({ controllers: [OrdersController], extras: { features: [withUsage()] } });
    try {
      const server = t.app.getHttpServer();
      const { key, record } = await t.service.issue({ name: 'k', scopes: ['orders:read'] });
      for (let i = 0; i < 3; i++) await request(server).get('/orders').set('X-API-Key', key).expect(200);
      const recorder = t.app.get(ApiKeyUsageRecorder);
      await t.dataSource.query(`DROP TABLE ${t.dataSource.driver.escape('api_key_usage')}`);
      await recorder.flush(); // fails: no table; logged, counts kept
      expect(t.logs.lines.some((line) => /could not write usage counts \(1 entries/.test(line))).toBe(true);
      expect(recorder.pendingEntries).toBe(1);
      await t.dataSource.synchronize();
      await request(server).get('/orders').set('X-API-Key', key).expect(200);
      await recorder.flush();
      expect(await usageRows(t)).toEqual([{ keyId: record.id, outcome: 'verified', count: 4 }]);
    } finally {
      await t.close();
    }
  });
});
