import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyAdminModule, type AdminKeyDetails } from 'nestjs-opaque-keys/admin';
import { ApiKeyLastAddressRecorder, withLastAddress } from 'nestjs-opaque-keys/last-address';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';
const as = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The console's key page: where the key was last used from, when the app records it (`withLastAddress()`). */
describe('admin console JSON API: the key page shows the last address', () => {
  const assetsDir = buildAdminAssets();
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let admin: string;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withLastAddress({ truncate: true })] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir })],
    });
    http = request(t.app.getHttpServer());
    admin = (await t.service.issue({ name: 'console admin', scopes: ['keys:admin', 'orders:*'] })).key;
  });
  afterAll(() => t.close());

  it('answers lastUsedFrom: null before a use is written, then the kept network and its time', async () => {
    const { key, record } = await t.service.issue({ name: 'reader', scopes: ['orders:read'] });
    const unused = (await http.get(`${API}/keys/${record.id}`).set(as(admin)).expect(200)).body as AdminKeyDetails;
    expect(unused.lastUsedFrom).toBeNull();
    expect(unused.status).toBe('active');

    const before = Date.now();
    await http.get('/orders').set(as(key)).set('X-Forwarded-For', '203.0.113.7').expect(200);
    await t.app.get(ApiKeyLastAddressRecorder).flush();
    const used = (await http.get(`${API}/keys/${record.id}`).set(as(admin)).expect(200)).body as AdminKeyDetails;
    expect(used.lastUsedFrom?.address).toBe('127.0.0.0/24');
    expect(Math.abs(new Date(used.lastUsedFrom!.usedAt).getTime() - before)).toBeLessThan(60_000);
    expect((await http.get(`${API}/keys/00000000-0000-4000-8000-000000000000`).set(as(admin))).status).toBe(404);
  });

  it('ships a page that shows the row', () => {
    const bundle = readdirSync(assetsDir)
      .filter((file) => file.endsWith('.js'))
      .map((file) => readFileSync(join(assetsDir, file), 'utf8'))
      .join('\n');
    expect(bundle).toContain('Last used from');
  });
});

describe('admin console JSON API: without the feature', () => {
  it('leaves lastUsedFrom out of the key page', async () => {
    const t = await createTestApp({ imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })] });
    try {
      const { key, record } = await t.service.issue({ name: 'console admin', scopes: ['keys:admin'] });
      const body = (await request(t.app.getHttpServer()).get(`${API}/keys/${record.id}`).set(as(key)).expect(200))
        .body as AdminKeyDetails;
      expect(body.id).toBe(record.id);
      expect('lastUsedFrom' in body).toBe(false);
    } finally {
      await t.close();
    }
  });
});
