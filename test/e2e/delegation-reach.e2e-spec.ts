import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { APP_PIPE } from '@nestjs/core';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import request from 'supertest';
import { apiKeyOptions } from '../../sample-app/config/api-keys.options.js';
import { createValidationPipe } from '../../sample-app/config/validation.pipe.js';
import { KeysController } from '../../sample-app/keys/keys.controller.js';
import { SelfKeyController } from '../../sample-app/keys/self-key.controller.js';
import { OrdersController } from '../../sample-app/orders/orders.controller.js';
import { OrdersService } from '../../sample-app/orders/orders.service.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const CONSOLE = '/admin/api';
const DAY = 86_400_000;
const LOCAL = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
/** The body of a refused delegation: the message, and the code of its reason. */
const forbidden = (message: string, reason: 'SELF' | 'OWNER' | 'ENVIRONMENT') => ({
  statusCode: 403,
  error: 'Forbidden',
  message,
  code: `ERR_API_KEY_DELEGATION_${reason}`,
});

/**
 * What an acting key reaches, over HTTP: the sample app's key routes
 * (`/keys`, `/keys/self/rotate`, its orders) and the admin console's JSON API
 * (`/admin/api`), with the sample's key policy, on the configured database.
 * Every rule about "itself" holds for its whole rotation family; a key with
 * an owner reaches only that owner's keys; a test key reads only test keys.
 */
describe('delegation reach over HTTP: rotation family, owner, environment (sample routes and console)', () => {
  let t: TestApp;
  let root: string;
  const http = () => request(t.app.getHttpServer());

  /** Rotates `key` through the sample's self-service route. */
  async function selfRotate(
    key: string,
    gracePeriodSeconds?: number,
  ): Promise<{ key: string; record: { id: string } }> {
    return (await http().post('/keys/self/rotate').set(bearer(key)).send({ gracePeriodSeconds }).expect(201)).body;
  }

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [SelfKeyController, KeysController, OrdersController],
      providers: [OrdersService, { provide: APP_PIPE, useFactory: createValidationPipe }],
      options: apiKeyOptions(),
      extras: { globalGuard: true },
      imports: [ApiKeyAdminModule.forRoot({ path: '/admin' })],
    });
    // The root of delegation outlives the keys it manages (the sample's maximum lifetime).
    const expiresAt = new Date(Date.now() + 365 * DAY - 60_000);
    root = (await t.service.issue({ name: 'root', scopes: ['keys:*', 'orders:*'], expiresAt })).key;
  });
  afterAll(() => t.close());

  describe('the rotation family', () => {
    it("case 3: a metered admin key cannot give itself credits through its predecessor's id (console)", async () => {
      const first = await t.service.issue({
        name: 'metered admin',
        scopes: ['keys:admin', 'orders:*'],
        credits: { remaining: 30 },
      });
      const successor = await selfRotate(first.key);
      const balance = (await t.service.get(successor.record.id)).remainingUses!;
      const attempts = [
        [first.record.id, { set: 1_000_000 }],
        [first.record.id, { add: 1_000 }],
        [successor.record.id, { set: 1_000_000 }],
      ] as const;
      const answers = [];
      for (const [id, body] of attempts)
        answers.push(await http().post(`${CONSOLE}/keys/${id}/credits`).set(bearer(successor.key)).send(body));
      const family = `API key ${successor.record.id} cannot change the credits of API key ${first.record.id}, a key of its own rotation family`;
      expect(answers.map((answer) => [answer.status, answer.body])).toEqual([
        [403, forbidden(family, 'SELF')],
        [403, forbidden(family, 'SELF')],
        [403, forbidden(`API key ${successor.record.id} cannot change its own credits`, 'SELF')],
      ]);
      // Each refused request passed the guard and spent its credit; nothing was given.
      expect((await t.service.get(successor.record.id)).remainingUses).toBe(balance - attempts.length);
      const events = (await t.service.listEvents({ keyId: successor.record.id })).items.map((event) => event.type);
      expect(events).not.toContain('credits_set');
      // Another admin tops the family up through the same id: the balance is on the newest key.
      const topUp = await http().post(`${CONSOLE}/keys/${first.record.id}/credits`).set(bearer(root)).send({ add: 5 });
      expect([topUp.status, topUp.body.id, topUp.body.remainingUses]).toEqual([200, successor.record.id, balance + 2]);
    });

    it("case 4: an IP-fenced, rate-limited admin key cannot lift its successor's limits (console and sample route)", async () => {
      const old = await t.service.issue({
        name: 'fenced admin',
        scopes: ['keys:admin', 'orders:*'],
        allowedIps: LOCAL,
        rateLimit: { limit: 100, windowMs: 60_000 },
      });
      const successor = await selfRotate(old.key, 300);
      const lift = { allowedIps: null, rateLimit: { limit: 1_000_000_000, windowMs: 1000 } };
      const message = `API key ${old.record.id} cannot change the rateLimit, allowedIps of API key ${successor.record.id}, a key of its own rotation family`;
      for (const path of [`${CONSOLE}/keys/${successor.record.id}`, `/keys/${successor.record.id}`]) {
        const answer = await http().patch(path).set(bearer(old.key)).send(lift);
        expect([path, answer.status, answer.body]).toEqual([path, 403, forbidden(message, 'SELF')]);
      }
      expect(await t.service.get(successor.record.id)).toMatchObject({ allowedIps: LOCAL, rateLimitMax: 100 });
      // The successor cannot keep its predecessor alive past the grace period either.
      const later = new Date(Date.now() + 30 * DAY).toISOString();
      const extend = await http().patch(`/keys/${old.record.id}`).set(bearer(successor.key)).send({ expiresAt: later });
      expect([extend.status, extend.body]).toEqual([
        403,
        forbidden(
          `API key ${successor.record.id} cannot extend the life of API key ${old.record.id}, a key of its own rotation family`,
          'SELF',
        ),
      ]);
      // What takes nothing away from anyone stays allowed: a name.
      await http().patch(`/keys/${successor.record.id}`).set(bearer(old.key)).send({ name: 'renamed' }).expect(200);
    });

    it('a successor cannot widen or enable its predecessor (in its grace period) once an admin narrowed or disabled it', async () => {
      const old = await t.service.issue({ name: 'family admin', scopes: ['keys:admin', 'orders:*'] });
      const successor = await selfRotate(old.key, 300);
      const id = old.record.id;
      const family = `API key ${id}, a key of its own rotation family`;
      await http()
        .put(`/keys/${id}/scopes`)
        .set(bearer(root))
        .send({ scopes: ['keys:admin'] })
        .expect(200);
      const widen = await http()
        .put(`/keys/${id}/scopes`)
        .set(bearer(successor.key))
        .send({ scopes: ['keys:admin', 'orders:*'] });
      expect([widen.status, widen.body.message]).toEqual([
        403,
        `API key ${successor.record.id} cannot widen the scopes of ${family}`,
      ]);
      // The old key leaked during its grace period: an admin disables it, and the successor cannot undo that.
      await http().post(`${CONSOLE}/keys/${id}/disable`).set(bearer(root)).send({ reason: 'leaked' }).expect(200);
      for (const path of [`${CONSOLE}/keys/${id}/enable`, `/keys/${id}/enable`]) {
        const answer = await http().post(path).set(bearer(successor.key)).send({});
        expect([path, answer.status, answer.body.message]).toEqual([
          path,
          403,
          `API key ${successor.record.id} cannot enable ${family}`,
        ]);
      }
      expect(await t.service.get(id)).toMatchObject({ scopes: ['keys:admin'], disabledReason: 'leaked' });
      await http().get('/orders').set(bearer(old.key)).expect(401);
    });
  });

  describe('the owner', () => {
    const owner = (key: string) =>
      `API key ${key} (owner "tenant-a") cannot manage keys of owner "acme": that takes the keys:any-owner scope`;

    it('case 5: an admin key with an owner issues keys of its owner only (sample route and console)', async () => {
      const admin = await t.service.issue({
        name: 'tenant-a admin',
        ownerId: 'tenant-a',
        scopes: ['keys:admin', 'orders:*'],
      });
      const acmeKeys = async () => (await t.service.list({ ownerId: 'acme' })).total;
      const before = await acmeKeys();
      const body = { name: 'for acme', ownerId: 'acme', scopes: ['orders:read'] };
      for (const path of ['/keys', `${CONSOLE}/keys`]) {
        const answer = await http().post(path).set(bearer(admin.key)).send(body);
        expect([path, answer.status, answer.body]).toEqual([path, 403, forbidden(owner(admin.record.id), 'OWNER')]);
      }
      expect(await acmeKeys()).toBe(before);
      // Without an owner named, the key is its owner's.
      const own = await http()
        .post('/keys')
        .set(bearer(admin.key))
        .send({ name: 'own', scopes: ['orders:read'] })
        .expect(201);
      expect(own.body.record.ownerId).toBe('tenant-a');
      // keys:any-owner (issued by a key that holds it) reaches every owner.
      const wide = await t.service.issue({
        name: 'tenant-a operator',
        ownerId: 'tenant-a',
        scopes: ['keys:admin', 'keys:any-owner', 'orders:*'],
      });
      const issued = await http().post('/keys').set(bearer(wide.key)).send(body).expect(201);
      expect(issued.body.record.ownerId).toBe('acme');
      await http().get('/orders').set(bearer(issued.body.key)).expect(200);
    });

    it("case 5: it reads, lists and changes no other owner's key (sample routes and console)", async () => {
      const admin = await t.service.issue({
        name: 'tenant-a admin',
        ownerId: 'tenant-a',
        scopes: ['keys:admin', 'orders:*'],
      });
      const acme = await t.service.issue({
        name: 'acme key',
        ownerId: 'acme',
        scopes: ['orders:read'],
        credits: { remaining: 3 },
      });
      const mine = await t.service.issue({ name: 'tenant-a key', ownerId: 'tenant-a', scopes: ['orders:read'] });
      const id = acme.record.id;
      const calls = [
        ['get', `/keys/${id}`, undefined],
        ['get', `/keys/${id}/events`, undefined],
        ['get', `/keys/${id}/usage`, undefined],
        ['get', '/keys?ownerId=acme', undefined],
        ['patch', `/keys/${id}`, { name: 'mine now' }],
        ['put', `/keys/${id}/scopes`, { scopes: [] }],
        ['post', `/keys/${id}/disable`, {}],
        ['post', `/keys/${id}/rotate`, {}],
        ['post', `/keys/${id}/revoke`, {}],
        ['get', `${CONSOLE}/keys/${id}`, undefined],
        ['get', `${CONSOLE}/keys/${id}/events`, undefined],
        ['get', `${CONSOLE}/keys/${id}/usage`, undefined],
        ['get', `${CONSOLE}/keys?ownerId=acme`, undefined],
        ['post', `${CONSOLE}/keys/${id}/credits`, { add: 100 }],
        ['post', `${CONSOLE}/owners/acme/revoke-all`, {}],
      ] as const;
      for (const [method, path, body] of calls) {
        const answer = await http()[method](path).set(bearer(admin.key)).send(body);
        expect([method, path, answer.status, answer.body]).toEqual([
          method,
          path,
          403,
          forbidden(owner(admin.record.id), 'OWNER'),
        ]);
      }
      expect(await t.service.get(id)).toMatchObject({ name: 'acme key', revokedAt: null, remainingUses: 3 });
      // Listings hold only its owner's keys, through the sample route and the console's search alike.
      for (const path of ['/keys', `${CONSOLE}/keys`, `${CONSOLE}/keys?q=key`, `${CONSOLE}/keys?ownerId=tenant-a`]) {
        const items = (await http().get(path).set(bearer(admin.key)).expect(200)).body.items as { ownerId: string }[];
        expect([path, [...new Set(items.map((item) => item.ownerId))]]).toEqual([path, ['tenant-a']]);
      }
      await http().get(`/keys/${mine.record.id}`).set(bearer(admin.key)).expect(200);
      await http().patch(`/keys/${mine.record.id}`).set(bearer(admin.key)).send({ name: 'renamed' }).expect(200);
    });

    it("revokes every key of its own owner (console), and a key without an owner keeps today's reach", async () => {
      const admin = await t.service.issue({ name: 'tenant-b admin', ownerId: 'tenant-b', scopes: ['keys:admin'] });
      const other = await t.service.issue({ name: 'tenant-b key', ownerId: 'tenant-b', scopes: [] });
      const done = await http()
        .post(`${CONSOLE}/owners/tenant-b/revoke-all`)
        .set(bearer(admin.key))
        .send({})
        .expect(200);
      expect(done.body).toEqual({ revoked: 2 });
      expect((await t.service.get(other.record.id)).revokedAt).not.toBeNull();
      const unowned = await t.service.issue({ name: 'global admin', scopes: ['keys:admin', 'orders:*'] });
      const acme = await http()
        .post('/keys')
        .set(bearer(unowned.key))
        .send({ name: 'acme 2', ownerId: 'acme', scopes: [] })
        .expect(201);
      await http().get(`${CONSOLE}/keys/${acme.body.record.id}`).set(bearer(unowned.key)).expect(200);
    });
  });

  describe('the environment of reads', () => {
    it('case 6: a test admin reads no live key: get, events, usage refused, lists hold test keys only', async () => {
      const testAdmin = await t.service.issue({
        name: 'test admin',
        environment: 'test',
        scopes: ['keys:admin', 'orders:*'],
      });
      const live = await t.service.issue({
        name: 'live secret',
        ownerId: 'acme',
        metadata: { plan: 'gold' },
        scopes: [],
      });
      const sandbox = await t.service.issue({ name: 'sandbox key', environment: 'test', scopes: [] });
      const message = `API key ${testAdmin.record.id} (test environment) cannot manage live keys`;
      for (const path of [
        `/keys/${live.record.id}`,
        `/keys/${live.record.id}/events`,
        `/keys/${live.record.id}/usage`,
        `${CONSOLE}/keys/${live.record.id}`,
        `${CONSOLE}/keys/${live.record.id}/events`,
        `${CONSOLE}/keys/${live.record.id}/usage`,
      ]) {
        const answer = await http().get(path).set(bearer(testAdmin.key));
        expect([path, answer.status, answer.body]).toEqual([path, 403, forbidden(message, 'ENVIRONMENT')]);
      }
      for (const path of ['/keys', '/keys?ownerId=acme', `${CONSOLE}/keys`, `${CONSOLE}/keys?q=secret`]) {
        const page = (await http().get(path).set(bearer(testAdmin.key)).expect(200)).body;
        const hints = (page.items as { hint: string }[]).map((item) => item.hint.slice(0, 'sk_test_'.length));
        expect([path, [...new Set(hints)]]).toEqual([path, page.total === 0 ? [] : ['sk_test_']]);
        expect(page.total).toBe(page.items.length);
      }
      const ids = (await http().get('/keys').set(bearer(testAdmin.key)).expect(200)).body.items.map(
        (item: { id: string }) => item.id,
      );
      expect(ids).toEqual(expect.arrayContaining([testAdmin.record.id, sandbox.record.id]));
      await http().get(`/keys/${sandbox.record.id}/events`).set(bearer(testAdmin.key)).expect(200);
      // A live admin still reads both.
      await http().get(`/keys/${sandbox.record.id}`).set(bearer(root)).expect(200);
      await http().get(`/keys/${live.record.id}`).set(bearer(root)).expect(200);
    });
  });
});
