import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyAdminModule, type AdminUsage } from 'nestjs-opaque-keys/admin';
import request from 'supertest';
import { ApiKeyUsageRecorder, withUsage } from 'nestjs-opaque-keys/usage';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';
const HOUR_MS = 3_600_000;
const as = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The console's usage route: the chart's series from the usage table, over Express (and Fastify in CI). */
describe('admin console JSON API: a key usage series for the chart', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let admin: string;
  let plain: string;
  let keyId: string;
  let key: string;
  const assetsDir = buildAdminAssets();

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withUsage()] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir })],
    });
    http = request(t.app.getHttpServer());
    admin = (await t.service.issue({ name: 'console admin', scopes: ['keys:admin', 'orders:*'] })).key;
    plain = (await t.service.issue({ name: 'no admin', scopes: ['orders:read'] })).key;
    const issued = await t.service.issue({ name: 'reader', scopes: ['orders:read'] });
    keyId = issued.record.id;
    key = issued.key;
    for (let i = 0; i < 3; i++) expect((await http.get('/orders').set(as(key))).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await http.post('/orders').set(as(key))).status).toBe(403);
    await t.app.get(ApiKeyUsageRecorder).flush();
  });
  afterAll(() => t.close());

  it('answers hourly points for one day, the bucket under way last, with exact totals', async () => {
    const before = Date.now();
    const response = await http.get(`${API}/keys/${keyId}/usage?days=1`).set(as(admin));
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const usage = response.body as AdminUsage & { enabled: true };
    expect(usage.enabled).toBe(true);
    expect(usage.granularity).toBe('hour');
    expect(usage.points).toHaveLength(24);
    expect(usage.totals).toEqual({ verified: 3, invalid: 0, forbidden: 2, rate_limited: 0, out_of_credits: 0 });
    const last = usage.points[23];
    expect(new Date(last.start).getTime()).toBe(Math.floor(before / HOUR_MS) * HOUR_MS);
    // The five requests sit in the last bucket (or the last two, when an hour turned meanwhile).
    expect(usage.points.reduce((sum, point) => sum + point.total, 0)).toBe(5);
    expect(usage.points.slice(0, 22).every((point) => point.total === 0)).toBe(true);
  });

  it('answers daily points beyond a week (the default is 7 days, hourly)', async () => {
    const month = (await http.get(`${API}/keys/${keyId}/usage?days=30`).set(as(admin))).body as AdminUsage & {
      enabled: true;
    };
    expect(month.granularity).toBe('day');
    expect(month.points).toHaveLength(30);
    expect(month.totals).toMatchObject({ verified: 3, forbidden: 2 });
    expect(month.points.slice(0, 28).every((point) => point.total === 0)).toBe(true);
    const week = (await http.get(`${API}/keys/${keyId}/usage`).set(as(admin))).body as AdminUsage & {
      enabled: true;
    };
    expect([week.granularity, week.points.length, week.totals.verified]).toEqual(['hour', 168, 3]);
  });

  it('refuses other periods (400), unknown keys (404) and keys without the admin scope (403)', async () => {
    for (const days of ['5', '0', '-1', '7.5', 'week', '365']) {
      const response = await http.get(`${API}/keys/${keyId}/usage?days=${days}`).set(as(admin));
      expect([days, response.status, response.body.message]).toEqual([days, 400, 'days must be one of 1, 7, 30, 90']);
    }
    expect((await http.get(`${API}/keys/${keyId}/usage?days=1&days=7`).set(as(admin))).status).toBe(400);
    expect((await http.get(`${API}/keys/00000000-0000-4000-8000-000000000000/usage`).set(as(admin))).status).toBe(404);
    expect((await http.get(`${API}/keys/${keyId}/usage`).set(as(plain))).status).toBe(403);
  });
});

describe('admin console JSON API: usage when the app does not record it', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })] });
  });
  afterAll(() => t.close());

  it('says so ({ enabled: false }) instead of an empty series, and still 404s an unknown key', async () => {
    const admin = await t.service.issue({ name: 'console admin', scopes: ['keys:admin'] });
    const http = request(t.app.getHttpServer());
    const response = await http.get(`${API}/keys/${admin.record.id}/usage`).set(as(admin.key));
    expect([response.status, response.body]).toEqual([200, { enabled: false }]);
    expect((await http.get(`${API}/keys/00000000-0000-4000-8000-000000000000/usage`).set(as(admin.key))).status).toBe(
      404,
    );
  });
});
