import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { generateApiKey, type IssuedApiKey } from 'nestjs-opaque-keys';
import { ApiKeyRemoteModule, createIntrospectionController } from 'nestjs-opaque-keys/introspection';
import { OrdersController } from '../support/controllers.js';
import { createPlatformApp } from '../support/http-platform.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const CACHE_TTL_MS = 200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** App B: no database, keys checked by A's introspection endpoint. */
async function createRemoteApp(
  introspectionUrl: string,
  introspectionKey: string,
): Promise<{ app: INestApplication; logs: LogCapture }> {
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [
      ApiKeyRemoteModule.forRoot({ introspectionUrl, introspectionKey, cacheTtlMs: CACHE_TTL_MS, timeoutMs: 1000 }),
    ],
    controllers: [OrdersController],
  }).compile();
  return { app: await createPlatformApp(moduleRef, { logger: logs }), logs };
}

describe('RFC 7662 introspection (app A) and ApiKeyRemoteModule (app B)', () => {
  let store: TestApp;
  let storeClosed = false;
  let remote: { app: INestApplication; logs: LogCapture };
  let introspector: IssuedApiKey;
  const a = () => request(store.app.getHttpServer());
  const b = () => request(remote.app.getHttpServer());
  const introspect = (token: string | undefined, caller = introspector.key) =>
    a()
      .post('/oauth/introspect')
      .set('Authorization', `Bearer ${caller}`)
      .type('form')
      .send(token === undefined ? {} : { token, token_type_hint: 'access_token' });
  const issue = (scopes: string[], extra: Record<string, unknown> = {}) =>
    store.service.issue({ name: 'client key', scopes, ...extra });

  beforeAll(async () => {
    store = await createTestApp({ controllers: [createIntrospectionController()] });
    await store.app.listen(0, '127.0.0.1');
    const { port } = store.app.getHttpServer().address() as { port: number };
    introspector = await issue(['keys:introspect'], { name: 'service B' });
    remote = await createRemoteApp(`http://127.0.0.1:${port}/oauth/introspect`, introspector.key);
  });

  afterAll(async () => {
    await remote?.app.close();
    if (!storeClosed) await store?.close();
  });

  describe('the introspection endpoint (A)', () => {
    it('describes an active key per RFC 7662 section 2.2, from a form body', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000);
      const key = await issue(['orders:read', 'orders:*'], { ownerId: 'acme', metadata: { plan: 'pro' }, expiresAt });
      const res = await introspect(key.key).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        active: true,
        scope: 'orders:read orders:*',
        client_id: key.record.id,
        sub: 'acme',
        exp: Math.floor(expiresAt.getTime() / 1000),
        token_type: 'api_key',
        ext: { name: 'client key', family_id: key.record.id, environment: null, metadata: { plan: 'pro' } },
      });
    });

    it('takes a JSON body too, and omits sub and exp when the key has none', async () => {
      const key = await issue(['orders:read']);
      const res = await a()
        .post('/oauth/introspect')
        .set('Authorization', `Bearer ${introspector.key}`)
        .send({ token: key.key })
        .expect(200);
      expect(res.body).toEqual({
        active: true,
        scope: 'orders:read',
        client_id: key.record.id,
        token_type: 'api_key',
        ext: { name: 'client key', family_id: key.record.id, environment: null, metadata: null },
      });
    });

    it('answers { active: false } and nothing more for unknown, malformed, revoked, expired and exhausted keys', async () => {
      const revoked = await issue(['orders:read']);
      await store.service.revoke(revoked.record.id);
      const expired = await issue(['orders:read'], { expiresAt: new Date(Date.now() + 60_000) });
      await store.dataSource
        .getRepository('ApiKeyEntity')
        .update({ id: expired.record.id }, { expiresAt: new Date(Date.now() - 1000) });
      const exhausted = await issue(['orders:read'], { maxUses: 1 });
      expect((await store.service.verify(exhausted.key)).valid).toBe(true); // spends the only use
      for (const token of [generateApiKey({ prefix: 'sk' }), 'not-a-key', revoked.key, expired.key, exhausted.key]) {
        const res = await introspect(token).expect(200);
        expect(res.body).toEqual({ active: false });
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('never spends a use of a key with a use limit, and reports the uses left', async () => {
      const limited = await issue(['orders:read'], { maxUses: 2 });
      for (let i = 0; i < 3; i++) expect((await introspect(limited.key).expect(200)).body.ext.remaining_uses).toBe(2);
    });

    it('answers 400 invalid_request without a token', async () => {
      const res = await introspect(undefined).expect(400);
      expect(res.body).toMatchObject({ error: 'invalid_request' });
    });

    it('refuses callers without a key (401) or without the introspection scope (403)', async () => {
      const key = await issue(['orders:read']);
      await a().post('/oauth/introspect').type('form').send({ token: key.key }).expect(401);
      const res = await introspect(key.key, key.key).expect(403);
      expect(res.headers['www-authenticate']).toContain('scope="keys:introspect"');
    });
  });

  describe('a service without a database (B)', () => {
    it("accepts A's key with its scopes and hands over the principal", async () => {
      const key = await issue(['orders:read'], { ownerId: 'team-1', metadata: { plan: 'pro' } });
      const res = await b().get('/orders').set('Authorization', `Bearer ${key.key}`).expect(200);
      expect(res.body.principal).toEqual({
        id: key.record.id,
        familyId: key.record.id,
        name: 'client key',
        ownerId: 'team-1',
        scopes: ['orders:read'],
        metadata: { plan: 'pro' },
        expiresAt: null,
        environment: null,
        remainingUses: null,
        rateLimit: null,
      });
      await b().get('/orders/owner').set('X-API-Key', key.key).expect(200, { ownerId: 'team-1' });
    });

    it('answers 403 on a missing scope and 401 on unknown, malformed and revoked keys', async () => {
      const reader = await issue(['orders:read']);
      const res = await b().post('/orders').set('Authorization', `Bearer ${reader.key}`).expect(403);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="api", error="insufficient_scope", scope="orders:read orders:write"',
      );
      const revoked = await issue(['orders:read']);
      await store.service.revoke(revoked.record.id);
      for (const token of [generateApiKey({ prefix: 'sk' }), 'sk_malformed', revoked.key]) {
        const refused = await b().get('/orders').set('Authorization', `Bearer ${token}`).expect(401);
        expect(refused.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      }
      await b().get('/orders').expect(401);
    });

    it("enforces a key's IP allowlist at B, against B's own client address (the list travels in A's answer)", async () => {
      const local = await issue(['orders:read'], { allowedIps: ['127.0.0.1', '::1'] });
      const office = await issue(['orders:read'], { allowedIps: ['203.0.113.7'] });
      await b()
        .get('/orders')
        .set('Authorization', `Bearer ${local.key}`)
        .set('X-Forwarded-For', '198.51.100.1')
        .expect(200);
      const refused = await b()
        .get('/orders')
        .set('Authorization', `Bearer ${office.key}`)
        .set('X-Forwarded-For', '203.0.113.7')
        .expect(403);
      expect(refused.body).toEqual({
        statusCode: 403,
        message: 'This API key may not be used from this address',
        error: 'Forbidden',
      });
      expect((await introspect(office.key).expect(200)).body.ext.allowed_ips).toEqual(['203.0.113.7']);
    });

    it('refuses a key revoked on A once the cache TTL has passed', async () => {
      const key = await issue(['orders:read']);
      await b().get('/orders').set('Authorization', `Bearer ${key.key}`).expect(200);
      await store.service.revoke(key.record.id, 'test');
      await sleep(CACHE_TTL_MS + 50);
      await b().get('/orders').set('Authorization', `Bearer ${key.key}`).expect(401);
    });

    it('never logs a plaintext key', () => {
      expect(remote.logs.lines.join('\n')).not.toContain(introspector.key);
    });

    it('answers 503 with Retry-After when A is down (fails closed)', async () => {
      const cached = await issue(['orders:read']);
      const fresh = await issue(['orders:read']);
      await b().get('/orders').set('Authorization', `Bearer ${cached.key}`).expect(200);
      await store.close();
      storeClosed = true;
      const res = await b().get('/orders').set('Authorization', `Bearer ${fresh.key}`).expect(503);
      expect(res.headers['retry-after']).toBe('5');
      await sleep(CACHE_TTL_MS + 50);
      await b().get('/orders').set('Authorization', `Bearer ${cached.key}`).expect(503);
    });
  });
});
