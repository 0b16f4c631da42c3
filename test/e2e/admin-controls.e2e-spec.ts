import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import request from 'supertest';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';
const as = (key: string) => ({ Authorization: `Bearer ${key}` });

describe('admin console: delegation through actingAs, and the key controls', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let root: string;
  let limited: string;
  let limitedId: string;
  let testAdmin: string;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { environments: ['live', 'test'] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })],
    });
    http = request(t.app.getHttpServer());
    root = (await t.service.issue({ name: 'root', scopes: ['*'] })).key;
    const issued = await t.service.issue({ name: 'orders admin', scopes: ['keys:admin', 'orders:*'] });
    limited = issued.key;
    limitedId = issued.record.id;
    testAdmin = (await t.service.issue({ name: 'test admin', scopes: ['*'], environment: 'test' })).key;
  });
  afterAll(() => t.close());

  it('holds a keys:admin key limited to orders:* to what it holds: no "*", no widening (403, nothing written)', async () => {
    const before = (await t.service.list({ limit: 100 })).total;
    const star = await http
      .post(`${API}/keys`)
      .set(as(limited))
      .send({ name: 'star', scopes: ['*'] });
    expect(star.status).toBe(403);
    expect(star.body.message).toContain('"*"');
    expect((await t.service.list({ limit: 100 })).total).toBe(before);
    const { record } = (
      await http
        .post(`${API}/keys`)
        .set(as(limited))
        .send({ name: 'narrow', scopes: ['orders:read'] })
        .expect(201)
    ).body;
    const widen = await http
      .put(`${API}/keys/${record.id}/scopes`)
      .set(as(limited))
      .send({ scopes: ['orders:read', 'billing:refund'] });
    expect(widen.status).toBe(403);
    expect(widen.body.message).toContain('billing:refund');
    expect((await t.service.get(record.id)).scopes).toEqual(['orders:read']);
    // Its own limits stay out of its reach (the service's "self" rule).
    const self = await http.patch(`${API}/keys/${limitedId}`).set(as(limited)).send({ rateLimit: null });
    expect(self.status).toBe(403);
  });

  it('keeps a test-environment admin away from live keys', async () => {
    const live = await t.service.issue({ name: 'live key', scopes: ['orders:read'] });
    for (const [method, path, body] of [
      ['post', `/keys/${live.record.id}/revoke`, {}],
      ['post', `/keys/${live.record.id}/disable`, {}],
      ['patch', `/keys/${live.record.id}`, { name: 'renamed' }],
      ['post', `/keys/${live.record.id}/credits`, { set: 5 }],
      ['post', `/owners/anyone/revoke-all`, {}],
    ] as const) {
      const response = await http[method](`${API}${path}`).set(as(testAdmin)).send(body);
      expect([path, response.status]).toEqual([path, 403]);
    }
    const issued = await http.post(`${API}/keys`).set(as(testAdmin)).send({ name: 'x', environment: 'live' });
    expect(issued.status).toBe(403);
    expect(await t.service.get(live.record.id)).toMatchObject({ name: 'live key', revokedAt: null, disabledAt: null });
    const own = await http.post(`${API}/keys`).set(as(testAdmin)).send({ name: 'test one', environment: 'test' });
    expect(own.status).toBe(201);
  });

  it('disables and enables a key (seen on the next request), filters the list by disabled', async () => {
    const { key, record } = await t.service.issue({ name: 'toggle me', ownerId: 'toggle', scopes: ['orders:read'] });
    await http.get('/orders').set(as(key)).expect(200);
    const disabled = await http
      .post(`${API}/keys/${record.id}/disable`)
      .set(as(root))
      .send({ reason: 'invoice overdue' })
      .expect(200);
    expect(disabled.body).toMatchObject({ status: 'disabled', disabledReason: 'invoice overdue' });
    await http.get('/orders').set(as(key)).expect(401);
    const list = (await http.get(`${API}/keys?status=disabled&ownerId=toggle`).set(as(root)).expect(200)).body;
    expect(list.items.map((item: { id: string }) => item.id)).toEqual([record.id]);
    expect((await http.get(`${API}/keys?status=active&ownerId=toggle`).set(as(root))).body.total).toBe(0);
    expect((await http.post(`${API}/keys/${record.id}/disable`).set(as(root)).send({})).status).toBe(409);
    const enabled = await http.post(`${API}/keys/${record.id}/enable`).set(as(root)).expect(200);
    expect(enabled.body).toMatchObject({ status: 'active', disabledAt: null });
    await http.get('/orders').set(as(key)).expect(200);
    expect((await http.post(`${API}/keys/${record.id}/enable`).set(as(root))).status).toBe(409);
  });

  it('edits name, metadata, expiry, rate limit and IP allowlist with one PATCH, and rejects bad patches', async () => {
    const { key, record } = await t.service.issue({ name: 'edit me', scopes: ['orders:read'] });
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const patched = await http
      .patch(`${API}/keys/${record.id}`)
      .set(as(root))
      .send({
        name: 'edited',
        metadata: { plan: 'team' },
        expiresAt,
        rateLimit: { limit: 7, windowMs: 60000 },
        allowedIps: ['203.0.113.0/24'],
      })
      .expect(200);
    expect(patched.body).toMatchObject({
      name: 'edited',
      metadata: { plan: 'team' },
      expiresAt,
      rateLimitMax: 7,
      allowedIps: ['203.0.113.0/24'],
    });
    await http.get('/orders').set(as(key)).expect(403); // not from the test's address
    await http.patch(`${API}/keys/${record.id}`).set(as(root)).send({ allowedIps: null, rateLimit: null }).expect(200); // no limiter in this app
    await http.get('/orders').set(as(key)).expect(200);
    const events = (await t.service.listEvents({ keyId: record.id })).items;
    expect(events.filter((event) => event.type === 'updated').map((event) => event.details)).toContainEqual({
      fields: expect.arrayContaining(['name', 'metadata', 'expiresAt', 'rateLimit', 'allowedIps']),
    });
    expect(
      (
        await http
          .patch(`${API}/keys/${record.id}`)
          .set(as(root))
          .send({ scopes: ['*'] })
      ).status,
    ).toBe(400);
    expect(
      (
        await http
          .patch(`${API}/keys/${record.id}`)
          .set(as(root))
          .send({ allowedIps: ['nope'] })
      ).status,
    ).toBe(400);
    expect((await http.patch(`${API}/keys/${record.id}`).set(as(root)).send({ expiresAt: 'soon' })).status).toBe(400);
  });

  it('issues with credits and an IP allowlist, then adds and sets credits', async () => {
    const issued = await http
      .post(`${API}/keys`)
      .set(as(root))
      .send({
        name: 'metered',
        scopes: ['orders:read'],
        credits: { remaining: 2, refill: { amount: 2, intervalMs: 3_600_000 } },
        allowedIps: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
      })
      .expect(201);
    const { key, record } = issued.body;
    expect(record).toMatchObject({ remainingUses: 2, refillAmount: 2, refillIntervalMs: 3_600_000 });
    expect(record.allowedIps).toContain('127.0.0.1');
    await http.get('/orders').set(as(key)).expect(200);
    await http.get('/orders').set(as(key)).expect(200);
    await http.get('/orders').set(as(key)).expect(429);
    const added = await http.post(`${API}/keys/${record.id}/credits`).set(as(root)).send({ add: 5 }).expect(200);
    expect(added.body.remainingUses).toBe(5);
    await http.get('/orders').set(as(key)).expect(200);
    const set = await http.post(`${API}/keys/${record.id}/credits`).set(as(root)).send({ set: 0 }).expect(200);
    expect(set.body.remainingUses).toBe(0);
    await http.get('/orders').set(as(key)).expect(429);
    expect((await http.post(`${API}/keys/${record.id}/credits`).set(as(root)).send({ add: 'x' })).status).toBe(400);
    expect((await http.post(`${API}/keys/${record.id}/credits`).set(as(root)).send({ add: -1 })).status).toBe(400);
    const types = (await t.service.listEvents({ keyId: record.id })).items.map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(['credits_added', 'credits_set']));
  });

  it('revokes every live key of an owner and says how many', async () => {
    const a = await t.service.issue({ name: 'a', ownerId: 'leaver', scopes: ['orders:read'] });
    await t.service.issue({ name: 'b', ownerId: 'leaver' });
    await t.service.issue({ name: 'other', ownerId: 'stayer' });
    const done = await http
      .post(`${API}/owners/leaver/revoke-all`)
      .set(as(root))
      .send({ reason: 'left the company' })
      .expect(200);
    expect(done.body).toEqual({ revoked: 2 });
    await http.get('/orders').set(as(a.key)).expect(401);
    expect((await t.service.list({ ownerId: 'leaver', status: 'active' })).total).toBe(0);
    expect((await t.service.list({ ownerId: 'stayer', status: 'active' })).total).toBe(1);
    const again = await http.post(`${API}/owners/leaver/revoke-all`).set(as(root)).send({}).expect(200);
    expect(again.body).toEqual({ revoked: 0 });
  });
});
