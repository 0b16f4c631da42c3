import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { withOwnerPolicies } from 'nestjs-opaque-keys/owner-policies';
import request from 'supertest';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';
const POLICIES = `${API}/owner-policies`;
const as = (key: string) => ({ Authorization: `Bearer ${key}` });
const DAY = 86_400_000;

/** Owner policies in the console's API, over real HTTP, on the configured database. */
describe('admin console: owner policies', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let anyOwner: string;
  let bound: string;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { environments: ['live', 'test'] },
      extras: { features: [withOwnerPolicies()] },
      imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })],
    });
    http = request(t.app.getHttpServer());
    anyOwner = (
      await t.service.issue({ name: 'ops', ownerId: 'ops', scopes: ['keys:admin', 'keys:any-owner', 'orders:*'] })
    ).key;
    bound = (await t.service.issue({ name: 'acme admin', ownerId: 'acme', scopes: ['keys:admin', 'orders:*'] })).key;
  });
  afterAll(() => t.close());

  it('shows, sets and removes a policy; a tightened policy refuses a key on its next request, and the key works again once relaxed', async () => {
    const wide = await t.service.issue({ name: 'wide', ownerId: 'acme', scopes: ['orders:*'] });
    await http.get('/orders').set(as(wide.key)).expect(200);
    expect((await http.get(POLICIES).set(as(anyOwner)).expect(200)).body).toEqual({
      enabled: true,
      editable: true,
      policies: [],
    });
    const set = await http
      .put(`${POLICIES}/acme`)
      .set(as(anyOwner))
      .send({ scopes: ['orders:read', 'keys:admin'], maxLifetimeMs: 30 * DAY })
      .expect(200);
    // The bound admin key itself never expires: it breaks the lifetime rule too, and is disabled with the wide key.
    expect(set.body.disabled).toEqual(expect.arrayContaining([wide.record.id]));
    await http.get('/orders').set(as(wide.key)).expect(401);
    const listed = (await http.get(POLICIES).set(as(anyOwner)).expect(200)).body;
    expect(listed.policies).toEqual([
      expect.objectContaining({
        ownerId: 'acme',
        policy: { scopes: ['orders:read', 'keys:admin'], maxLifetimeMs: 30 * DAY },
      }),
    ]);
    expect(listed.policies[0].updatedBy).toMatch(/^admin:/);
    await http.delete(`${POLICIES}/acme`).set(as(anyOwner)).expect(200);
    await http.get('/orders').set(as(wide.key)).expect(200);
    expect((await http.get(POLICIES).set(as(anyOwner)).expect(200)).body.policies).toEqual([]);
  });

  it('answers an issue or an update that breaks a policy with 403 and the code; a bad policy with 400', async () => {
    await http.put(`${POLICIES}/beta`).set(as(anyOwner)).send({ requireExpiry: true }).expect(200);
    const issued = await http
      .post(`${API}/keys`)
      .set(as(anyOwner))
      .send({ name: 'forever', ownerId: 'beta', scopes: ['orders:read'] });
    expect(issued.status).toBe(403);
    expect(issued.body).toMatchObject({ code: 'ERR_API_KEY_OWNER_POLICY', error: 'Forbidden' });
    expect(issued.body.message).toContain('rule expiry');
    const ok = await http
      .post(`${API}/keys`)
      .set(as(anyOwner))
      .send({ name: 'expiring', ownerId: 'beta', scopes: ['orders:read'], expiresAt: new Date(Date.now() + DAY) })
      .expect(201);
    const update = await http.patch(`${API}/keys/${ok.body.record.id}`).set(as(anyOwner)).send({ expiresAt: null });
    expect(update.status).toBe(403);
    expect(update.body.code).toBe('ERR_API_KEY_OWNER_POLICY');
    const bad = await http.put(`${POLICIES}/beta`).set(as(anyOwner)).send({ maxLifetimeMs: 'long' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('ERR_API_KEY_VALIDATION');
    // The default policy, by its owner id "*".
    await http
      .put(`${POLICIES}/*`)
      .set(as(anyOwner))
      .send({ environments: ['live', 'test'] })
      .expect(200);
    await http.delete(`${POLICIES}/*`).set(as(anyOwner)).expect(200);
  });

  it("refuses an admin key bound to an owner its own owner's policy (403); it may read it, and the page knows it cannot edit", async () => {
    await http
      .put(`${POLICIES}/acme`)
      .set(as(anyOwner))
      .send({ scopes: ['orders:*', 'keys:admin'] })
      .expect(200);
    await http.get('/orders').set(as(bound)).expect(200);
    for (const owner of ['acme', '*', 'other']) {
      const refused = await http
        .put(`${POLICIES}/${owner}`)
        .set(as(bound))
        .send({ scopes: ['*'] });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('ERR_API_KEY_DELEGATION_OWNER');
    }
    expect((await http.delete(`${POLICIES}/acme`).set(as(bound))).status).toBe(403);
    const seen = (await http.get(POLICIES).set(as(bound)).expect(200)).body;
    expect(seen).toMatchObject({ enabled: true, editable: false });
    expect(seen.policies.map((p: { ownerId: string }) => p.ownerId)).toEqual(['acme']);
    expect((await t.service.listEvents({ ownerId: 'acme' })).items.length).toBeGreaterThan(0);
  });
});

/** Without the feature, the console says so and offers no change. */
describe('admin console without owner policies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })] });
  });
  afterAll(() => t.close());

  it('answers { enabled: false } and 404 for changes', async () => {
    const { key } = await t.service.issue({ name: 'root', scopes: ['*'] });
    const http = request(t.app.getHttpServer());
    expect((await http.get(POLICIES).set(as(key)).expect(200)).body).toEqual({ enabled: false });
    await http.put(`${POLICIES}/acme`).set(as(key)).send({ requireExpiry: true }).expect(404);
  });
});
