import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oauth from 'oauth4webapi';
import request from 'supertest';
import { generateApiKey, type IssuedApiKey } from 'nestjs-opaque-keys';
import { ApiKeyRemoteModule, createIntrospectionController } from 'nestjs-opaque-keys/introspection';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import { OrdersController } from '../support/controllers.js';
import { createPlatformApp } from '../support/http-platform.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe('introspection as standard OAuth clients call it (client_secret_basic / client_secret_post)', () => {
  let store: TestApp;
  let caller: IssuedApiKey;
  let endpoint: string;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: 'orders-service' };
  const a = () => request(store.app.getHttpServer());
  const issue = (scopes: string[], name = 'client key') => store.service.issue({ name, scopes, ownerId: 'acme' });

  /** Introspects `token` with oauth4webapi, authenticating with `auth`; the parsed RFC 7662 answer. */
  async function introspect(token: string, auth: oauth.ClientAuth): Promise<oauth.IntrospectionResponse> {
    const response = await oauth.introspectionRequest(as, client, auth, token, { [oauth.allowInsecureRequests]: true });
    return oauth.processIntrospectionResponse(as, client, response);
  }

  beforeAll(async () => {
    store = await createTestApp({ controllers: [createIntrospectionController(), OrdersController] });
    await store.app.listen(0, '127.0.0.1');
    const { port } = store.app.getHttpServer().address() as { port: number };
    endpoint = `http://127.0.0.1:${port}/oauth/introspect`;
    as = { issuer: `http://127.0.0.1:${port}`, introspection_endpoint: endpoint };
    caller = await issue(['keys:introspect'], 'orders service');
  });

  afterAll(async () => {
    await store?.close();
  });

  for (const [method, auth] of [
    ['client_secret_basic', (secret: string) => oauth.ClientSecretBasic(secret)],
    ['client_secret_post', (secret: string) => oauth.ClientSecretPost(secret)],
  ] as const) {
    describe(method, () => {
      it('describes an active key, and answers { active: false } for a revoked key and garbage', async () => {
        const live = await issue(['orders:read']);
        const active = await introspect(live.key, auth(caller.key));
        expect(active).toMatchObject({ active: true, scope: 'orders:read', client_id: live.record.id, sub: 'acme' });
        const revoked = await issue(['orders:read']);
        await store.service.revoke(revoked.record.id);
        for (const token of [revoked.key, generateApiKey({ prefix: 'sk' }), 'garbage']) {
          expect(await introspect(token, auth(caller.key))).toEqual({ active: false });
        }
      });

      it('refuses a wrong, revoked or garbage secret with one identical 401 and a Basic challenge', async () => {
        const revoked = await issue(['keys:introspect']);
        await store.service.revoke(revoked.record.id);
        const answers: unknown[] = [];
        for (const secret of [generateApiKey({ prefix: 'sk' }), revoked.key, 'not-a-key', '%zz']) {
          const response = await oauth.introspectionRequest(as, client, auth(secret), caller.key, {
            [oauth.allowInsecureRequests]: true,
          });
          expect(response.status).toBe(401);
          const challenges = response.headers.get('www-authenticate');
          expect(challenges).toContain('Basic realm="api"');
          expect(challenges).toContain('Bearer realm="api", error="invalid_token"');
          answers.push({ challenges, body: await response.json() });
          await expect(oauth.processIntrospectionResponse(as, client, response)).rejects.toThrow();
        }
        expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
      });

      it('still checks the scope of the calling key (403)', async () => {
        const unscoped = await issue(['orders:read']);
        const response = await oauth.introspectionRequest(as, client, auth(unscoped.key), caller.key, {
          [oauth.allowInsecureRequests]: true,
        });
        expect(response.status).toBe(403);
        expect(response.headers.get('www-authenticate')).toContain('scope="keys:introspect"');
      });
    });
  }

  it('form-urldecodes the Basic secret and ignores the client_id, and never logs the secret', async () => {
    const live = await issue(['orders:read']);
    for (const id of ['', 'anything', 'a:b ü']) {
      const res = await a()
        .post('/oauth/introspect')
        .set('Authorization', basic(id, caller.key))
        .type('form')
        .send({ token: live.key });
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(true);
    }
    await a()
      .post('/oauth/introspect')
      .set('Authorization', basic('x', `${caller.key}x`))
      .type('form')
      .send({ token: live.key })
      .expect(401);
    expect(store.logs.lines.join('\n')).not.toContain(caller.key);
  });

  it('answers 401 with both challenges when no credential is sent, and 400 for two different keys', async () => {
    const live = await issue(['orders:read']);
    const none = await a().post('/oauth/introspect').type('form').send({ token: live.key }).expect(401);
    expect([none.headers['www-authenticate']].flat().join(', ')).toMatch(/Basic realm="api".*Bearer realm="api"/);
    const other = await issue(['keys:introspect']);
    await a()
      .post('/oauth/introspect')
      .set('Authorization', basic('x', caller.key))
      .type('form')
      .send({ token: live.key, client_id: 'x', client_secret: other.key })
      .expect(400);
    await a()
      .post('/oauth/introspect')
      .set('Authorization', basic('x', caller.key))
      .type('form')
      .send({ token: live.key, client_id: 'x', client_secret: caller.key })
      .expect(200);
  });

  it('does not open HTTP Basic anywhere else: the normal guard refuses it', async () => {
    const reader = await issue(['orders:read']);
    const res = await a().get('/orders').set('Authorization', basic('x', reader.key)).expect(401);
    expect([res.headers['www-authenticate']].flat().join(', ')).not.toContain('Basic');
    await a().get('/orders').send({ client_secret: reader.key }).expect(401);
    expect(store.logs.lines.join('\n')).not.toContain(reader.key);
  });

  it('serves ApiKeyRemoteModule (Bearer) from the same endpoint', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ApiKeyRemoteModule.forRoot({ introspectionUrl: endpoint, introspectionKey: caller.key, cacheTtlMs: 0 }),
      ],
      controllers: [OrdersController],
    }).compile();
    const remote: INestApplication = await createPlatformApp(moduleRef);
    try {
      const reader = await issue(['orders:read']);
      await request(remote.getHttpServer()).get('/orders').set('Authorization', `Bearer ${reader.key}`).expect(200);
      await store.service.revoke(reader.record.id);
      await request(remote.getHttpServer()).get('/orders').set('Authorization', `Bearer ${reader.key}`).expect(401);
    } finally {
      await remote.close();
    }
  });

  it('fails closed: a store outage is 503 with Retry-After for a Basic caller, never a pass', async () => {
    const live = await issue(['orders:read']);
    await store.dataSource.destroy();
    const res = await a()
      .post('/oauth/introspect')
      .set('Authorization', basic('x', caller.key))
      .type('form')
      .send({ token: live.key });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
  });
});
