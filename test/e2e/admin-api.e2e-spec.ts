import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ApiKeyAdminModule, ADMIN_CONTENT_SECURITY_POLICY } from 'nestjs-opaque-keys/admin';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';

function expectSecurityHeaders(response: request.Response): void {
  expect(response.headers['content-security-policy']).toBe(ADMIN_CONTENT_SECURITY_POLICY);
  expect(response.headers['content-security-policy']).toContain("default-src 'self'");
  expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['referrer-policy']).toBe('no-referrer');
  expect(response.headers['cache-control']).toBe('no-store');
}

describe('admin console JSON API (default auth: an admin API key)', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;
  let admin: string;
  let adminId: string;
  let plain: string;
  const assetsDir = buildAdminAssets();
  const as = (key: string) => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      imports: [ApiKeyAdminModule.forRoot({ assetsDir })],
    });
    http = request(t.app.getHttpServer());
    const issued = await t.service.issue({ name: 'console admin', scopes: ['keys:admin', 'orders:*'] });
    admin = issued.key;
    adminId = issued.record.id;
    plain = (await t.service.issue({ name: 'no admin', scopes: ['orders:read'] })).key;
  });
  afterAll(() => t.close());

  it('refuses requests without a key (401) and keys without the admin scope (403), with the headers', async () => {
    const none = await http.get(`${API}/session`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expectSecurityHeaders(none);
    const weak = await http.get(`${API}/keys`).set(as(plain));
    expect(weak.status).toBe(403);
    expect(weak.headers['www-authenticate']).toContain('scope="keys:admin"');
    expectSecurityHeaders(weak);
    expect((await http.post(`${API}/keys`).set(as(plain)).send({ name: 'x' })).status).toBe(403);
  });

  it('answers the session with the admin and the key policy', async () => {
    const response = await http.get(`${API}/session`).set(as(admin)).expect(200);
    expectSecurityHeaders(response);
    expect(response.body).toEqual({
      admin: { id: adminId, scopes: ['keys:admin', 'orders:*'] },
      policy: { environments: [], defaultLifetimeMs: null, maxLifetimeMs: null },
    });
  });

  it('serves the page and its two files with their content types and the headers, without a key', async () => {
    const built = (file: string) => readFileSync(join(assetsDir, file), 'utf8');
    const page = await http.get('/admin/keys').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expectSecurityHeaders(page);
    expect(page.text).toContain('<script type="module" src="/admin/keys/assets/app.js"></script>');
    expect(page.text).not.toMatch(/<script>|<style|style=/);
    const script = await http.get('/admin/keys/assets/app.js').expect(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expectSecurityHeaders(script);
    expect(script.text).toBe(built('app.js'));
    const css = await http.get('/admin/keys/assets/app.css').expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text).toBe(built('app.css'));
    expect((await http.get('/admin/keys/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await http.get('/admin/keys/assets/index.html')).status).toBe(404);
    // Its icon, so a browser does not ask the host's /favicon.ico (a 404 in the console of every load).
    expect(page.text).toContain('<link rel="icon" type="image/svg+xml" href="/admin/keys/assets/icon.svg">');
    const icon = await http.get('/admin/keys/assets/icon.svg').expect(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expectSecurityHeaders(icon);
    expect(String(icon.body ?? icon.text)).toContain('<svg');
    // Signed in by an admin key: the page calls the API only once one is typed in.
    expect(page.text).toContain('data-sign-in="key"');
  });

  it('issues a key within the admin scopes: the plaintext only in that answer, no-store', async () => {
    const issued = await http
      .post(`${API}/keys`)
      .set(as(admin))
      .send({
        maxUses: 10,
        name: 'billing job',
        ownerId: 'team-a',
        scopes: ['orders:read'],
        rateLimit: { limit: 50, windowMs: 60000 },
      })
      .expect(201);
    expectSecurityHeaders(issued);
    const { key, record } = issued.body;
    expect(key).toMatch(/^sk_/);
    expect(record).toMatchObject({
      name: 'billing job',
      ownerId: 'team-a',
      scopes: ['orders:read'],
      rateLimitMax: 50,
      remainingUses: 10,
    });
    expect(record).not.toHaveProperty('hash');
    for (const path of [`/keys`, `/keys/${record.id}`, `/keys/${record.id}/events`, `/keys?q=billing`]) {
      const response = await http.get(`${API}${path}`).set(as(admin)).expect(200);
      expect(response.text).not.toContain(key);
      expect(response.text).toContain(record.id);
    }
  });

  it('refuses to grant scopes the admin does not hold (403) and writes nothing', async () => {
    const before = (await t.service.list({ limit: 100 })).total;
    const response = await http
      .post(`${API}/keys`)
      .set(as(admin))
      .send({ name: 'too wide', scopes: ['orders:read', 'billing:refund'] });
    expect(response.status).toBe(403);
    expect(response.body.message).toContain('billing:refund');
    expect((await t.service.list({ limit: 100 })).total).toBe(before);
  });

  it('edits scopes (seen on the next request), rotates with grace, revokes; the audit trail names the admin', async () => {
    const { key, record } = (await http.post(`${API}/keys`).set(as(admin)).send({ name: 'lifecycle' }).expect(201))
      .body;
    await http.get('/orders').set(as(key)).expect(403);
    const edited = await http
      .put(`${API}/keys/${record.id}/scopes`)
      .set(as(admin))
      .send({ scopes: ['orders:read'] });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ scopes: ['orders:read'], status: 'active' });
    await http.get('/orders').set(as(key)).expect(200);
    expect(
      (
        await http
          .put(`${API}/keys/${record.id}/scopes`)
          .set(as(admin))
          .send({ scopes: ['*'] })
      ).status,
    ).toBe(403);

    const rotated = await http
      .post(`${API}/keys/${record.id}/rotate`)
      .set(as(admin))
      .send({ gracePeriodSeconds: 3600 });
    expect(rotated.status).toBe(201);
    expectSecurityHeaders(rotated);
    const successor: string = rotated.body.key;
    expect(rotated.body.previous).toMatchObject({ id: record.id, replacedById: rotated.body.record.id });
    await http.get('/orders').set(as(key)).expect(200); // grace
    await http.get('/orders').set(as(successor)).expect(200);
    expect((await http.get(`${API}/keys/${rotated.body.record.id}`).set(as(admin))).text).not.toContain(successor);

    const revoked = await http
      .post(`${API}/keys/${rotated.body.record.id}/revoke`)
      .set(as(admin))
      .send({ reason: 'left the team' })
      .expect(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedReason: 'left the team' });
    await http.get('/orders').set(as(successor)).expect(401);
    expect((await http.post(`${API}/keys/${rotated.body.record.id}/revoke`).set(as(admin)).send({})).status).toBe(409);

    const trail = (await http.get(`${API}/keys/${record.id}/events`).set(as(admin)).expect(200)).body;
    expect(trail.items.map((event: { type: string }) => event.type)).toEqual(
      expect.arrayContaining(['issued', 'scopes_changed', 'rotated']),
    );
    for (const event of trail.items) expect(event.actor).toBe(`admin:${adminId}`);
    const next = (await http.get(`${API}/keys/${rotated.body.record.id}/events`).set(as(admin))).body.items;
    expect(next.find((event: { type: string }) => event.type === 'revoked')).toMatchObject({
      actor: `admin:${adminId}`,
      details: { reason: 'left the team' },
    });
  });

  it('refuses to rotate a key whose scopes the admin does not hold', async () => {
    const wide = await t.service.issue({ name: 'wide', scopes: ['billing:*'] });
    const response = await http.post(`${API}/keys/${wide.record.id}/rotate`).set(as(admin)).send({});
    expect(response.status).toBe(403);
    expect((await t.service.get(wide.record.id)).replacedById).toBeNull();
  });

  it('searches by name, owner and hint, filters by status, sorts and pages', async () => {
    const soon = new Date(Date.now() + 3_600_000);
    const a = await t.service.issue({ name: 'zeta search', ownerId: 'owner-q', expiresAt: soon });
    const b = await t.service.issue({ name: 'alpha search', ownerId: 'owner-q' });
    await t.service.revoke(b.record.id);
    const get = async (query: string) => (await http.get(`${API}/keys?${query}`).set(as(admin)).expect(200)).body;
    const names = (page: { items: { name: string }[] }) => page.items.map((item) => item.name);

    expect(names(await get('q=SEARCH&sort=name'))).toEqual(['alpha search', 'zeta search']);
    expect(names(await get('q=search&sort=name&order=desc'))).toEqual(['zeta search', 'alpha search']);
    expect(names(await get('q=owner-q&status=revoked'))).toEqual(['alpha search']);
    expect(names(await get('q=owner-q&status=active'))).toEqual(['zeta search']);
    expect(names(await get('ownerId=owner-q&status=expiring'))).toEqual(['zeta search']);
    expect(names(await get(`q=${a.record.hint}`))).toEqual(['zeta search']);
    const paged = await get('q=search&sort=name&limit=1&offset=1');
    expect(paged).toMatchObject({ total: 2, limit: 1, offset: 1, truncated: false });
    expect(names(paged)).toEqual(['zeta search']);
    const plainList = await get('limit=2');
    expect(plainList.items).toHaveLength(2);
    expect(plainList.items[0]).toHaveProperty('status');
    expect((await http.get(`${API}/keys?status=bogus`).set(as(admin))).status).toBe(400);
    expect((await http.get(`${API}/keys?limit=500`).set(as(admin))).status).toBe(400);
  });

  it('maps bad ids and bodies to 400 and unknown keys to 404', async () => {
    expect((await http.get(`${API}/keys/${'x'.repeat(40)}`).set(as(admin))).status).toBe(400);
    expect((await http.get(`${API}/keys/not-a-uuid`).set(as(admin))).status).toBe(404);
    expect((await http.get(`${API}/keys/00000000-0000-4000-8000-000000000000`).set(as(admin))).status).toBe(404);
    const { record } = await t.service.issue({ name: 'bodies' });
    const put = await http.put(`${API}/keys/${record.id}/scopes`).set(as(admin)).send({ scopes: 'orders:read' });
    expect(put.status).toBe(400);
    const grace = await http.post(`${API}/keys/${record.id}/rotate`).set(as(admin)).send({ gracePeriodSeconds: -1 });
    expect(grace.status).toBe(400);
    const name = await http.post(`${API}/keys`).set(as(admin)).send({ name: '' });
    expect(name.status).toBe(400);
    expectSecurityHeaders(name);
  });
});

/** A host's own login: a session header stands for its cookie session in this test. */
@Injectable()
class HostSessionGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest().headers['x-test-session'] === 'operator-1';
  }
}

describe('admin console JSON API with the host guard', () => {
  let t: TestApp;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    t = await createTestApp({
      extras: { globalGuard: true },
      imports: [
        ApiKeyAdminModule.forRoot({
          path: '/ops/keys',
          guard: HostSessionGuard,
          identify: () => ({ id: 'operator-1', scopes: ['orders:read'] }),
          assetsDir: buildAdminAssets(),
        }),
      ],
    });
    http = request(t.app.getHttpServer());
  });
  afterAll(() => t.close());

  it('lets the host guard decide (the global ApiKeyGuard stays out), keeps the headers and the scope rule', async () => {
    const refused = await http.get('/ops/keys/api/keys');
    expect(refused.status).toBe(403);
    expectSecurityHeaders(refused);
    const session = { 'x-test-session': 'operator-1' };
    expect((await http.get('/ops/keys/api/session').set(session).expect(200)).body.admin).toEqual({
      id: 'operator-1',
      scopes: ['orders:read'],
    });
    const issued = await http
      .post('/ops/keys/api/keys')
      .set(session)
      .send({ name: 'h', scopes: ['orders:read'] });
    expect(issued.status).toBe(201);
    expect((await t.service.listEvents({ keyId: issued.body.record.id })).items[0].actor).toBe('admin:operator-1');
    const wide = await http
      .post('/ops/keys/api/keys')
      .set(session)
      .send({ name: 'h', scopes: ['orders:write'] });
    expect(wide.status).toBe(403);
    await http.get('/ops/keys').expect(200);
  });

  it("marks the page as signed in by the host's login: it asks the API who is signed in as it loads", async () => {
    const page = await http.get('/ops/keys').expect(200);
    expect(page.text).toContain('data-sign-in="host"');
    expect(page.text).toContain('href="/ops/keys/assets/icon.svg"');
  });

  it('fails at boot when a host guard comes without identify', () => {
    expect(() => ApiKeyAdminModule.forRoot({ guard: HostSessionGuard })).toThrow(/identify/);
    expect(() => ApiKeyAdminModule.forRoot({ path: 'no-slash' })).toThrow(/path/);
    expect(() => ApiKeyAdminModule.forRoot({ scope: 'keys:*' })).toThrow(/scope/);
  });
});
