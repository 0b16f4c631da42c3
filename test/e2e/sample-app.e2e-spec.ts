import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyService, type IssueApiKeyInput } from 'nestjs-opaque-keys';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { ApiKeyEventPublisher } from '../../lib/features/events/index.js';
import { ApiKeyUsageRecorder } from 'nestjs-opaque-keys/usage';
import { LogCapture } from '../support/log-capture.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const KEY = /^sk_live_[0-9A-Za-z]+$/;
const TEST_KEY = /^sk_test_[0-9A-Za-z]+$/;
const KEYS_IN_TEXT = /\bsk_(?:live|test)_[0-9A-Za-z]+/g;
const DAY = 86_400_000;

/**
 * The sample app as a user runs it: its own AppModule, a SQLite file, a real
 * HTTP server. It is an embedded-SQLite app, so it runs on SQLite whatever DB_TYPE says.
 */
describe('sample app', () => {
  const env = { DATABASE_PATH: process.env.DATABASE_PATH, PORT: process.env.PORT };
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-sample-'));
  const databasePath = join(dir, 'nested', 'sample.sqlite');
  const logs = new LogCapture();
  const plaintexts = new Set<string>();
  let app: INestApplication;
  let storage: ThrottlerStorageProcess;
  let printed: string;
  let admin: string;
  let adminId: string;

  /** Boots the sample app on port 0, returning what it wrote to stdout while starting. */
  async function start(): Promise<string> {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // The real @nestjs/throttler in-memory storage, in a child process (see throttler-storage.ts).
      app = await createSampleApp({ logger: logs, rateLimitStorage: storage });
      await app.listen(0);
      return write.mock.calls.map(([chunk]) => String(chunk)).join('');
    } finally {
      write.mockRestore();
    }
  }

  const http = () => request(app.getHttpServer());
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

  /** Issues a key through `POST /keys` with the admin key. */
  async function issue(body: Record<string, unknown>): Promise<{ key: string; record: Record<string, any> }> {
    const res = await http().post('/keys').set(bearer(admin)).send(body).expect(201);
    plaintexts.add(res.body.key);
    return res.body;
  }

  /**
   * Issues a key as the operator does with the CLI: through ApiKeyService, without `actingAs`. The only way
   * to a `keys:leaks` or `keys:introspect` key, which no admin key over HTTP holds, so none can grant.
   */
  async function operatorIssue(input: IssueApiKeyInput): Promise<{ key: string; record: Record<string, any> }> {
    const issued = await app.get(ApiKeyService).issue({ ...input, actor: 'cli:operator' });
    plaintexts.add(issued.key);
    return JSON.parse(JSON.stringify(issued));
  }

  async function keyCount(): Promise<number> {
    return (await http().get('/keys').set(bearer(admin)).expect(200)).body.total;
  }

  beforeAll(async () => {
    process.env.DATABASE_PATH = databasePath;
    process.env.PORT = '3000';
    storage = await ThrottlerStorageProcess.start();
    printed = await start();
    admin = printed.match(KEYS_IN_TEXT)?.[0] ?? '';
    plaintexts.add(admin);
    adminId = (await http().get('/keys').set(bearer(admin)).expect(200)).body.items[0].id;
  });

  afterAll(async () => {
    await app?.close();
    storage?.stop();
    for (const [name, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe('first start', () => {
    it('creates the SQLite file and its folder', () => {
      expect(existsSync(databasePath)).toBe(true);
    });

    it('issues exactly one admin key and prints it once, with a curl line', async () => {
      expect(admin).toMatch(KEY);
      expect(new Set(printed.match(KEYS_IN_TEXT))).toEqual(new Set([admin]));
      expect(printed).toContain(`curl -H "Authorization: Bearer ${admin}" http://localhost:3000/orders`);
      const page = (await http().get('/keys').set(bearer(admin)).expect(200)).body;
      expect(page.total).toBe(1);
      expect(page.items[0]).toMatchObject({
        name: 'bootstrap admin',
        scopes: ['keys:admin', 'orders:*', 'downloads:*'],
        ownerId: null,
        revokedAt: null,
      });
      expect(logs.lines.join('\n')).toContain(`issued bootstrap admin key ${page.items[0].id}`);
    });
  });

  describe('GET /health', () => {
    it('is public', async () => {
      const res = await http().get('/health').expect(200);
      expect(res.body).toEqual({ status: 'ok' });
    });

    it('while every other route needs a key', async () => {
      const res = await http().get('/orders').expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      await http().get('/keys').expect(401);
    });
  });

  describe('orders', () => {
    it("GET /orders with orders:read lists only the caller's owner's orders", async () => {
      const acme = await issue({ name: 'acme reader', scopes: ['orders:read'], ownerId: 'acme' });
      const globex = await issue({ name: 'globex reader', scopes: ['orders:read'], ownerId: 'globex' });
      const acmeOrders = (await http().get('/orders').set(bearer(acme.key)).expect(200)).body;
      expect(acmeOrders.map((o: { item: string }) => o.item)).toEqual(['anvil', 'rocket skates']);
      expect(acmeOrders.every((o: { ownerId: string }) => o.ownerId === 'acme')).toBe(true);
      const globexOrders = (await http().get('/orders').set('X-API-Key', globex.key).expect(200)).body;
      expect(globexOrders).toEqual([expect.objectContaining({ ownerId: 'globex', item: 'hammock', quantity: 5 })]);
      // The bootstrap admin has no owner: it sees its own (empty) bucket, not everyone's orders.
      expect((await http().get('/orders').set(bearer(admin)).expect(200)).body).toEqual([]);
    });

    it('GET /orders without orders:read is 403 insufficient_scope', async () => {
      const writer = await issue({ name: 'writer', scopes: ['orders:write'], ownerId: 'acme' });
      const res = await http().get('/orders').set(bearer(writer.key)).expect(403);
      expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(res.headers['www-authenticate']).toContain('scope="orders:read"');
      expect(res.body).toMatchObject({ statusCode: 403, message: 'Insufficient scope' });
    });

    it("POST /orders with orders:write creates an order for the caller's owner", async () => {
      const writer = await issue({ name: 'writer', scopes: ['orders:write'], ownerId: 'initech' });
      const reader = await issue({ name: 'reader', scopes: ['orders:read'], ownerId: 'initech' });
      await http().post('/orders').set(bearer(reader.key)).send({ item: 'stapler', quantity: 1 }).expect(403);
      const res = await http()
        .post('/orders')
        .set(bearer(writer.key))
        .send({ item: 'stapler', quantity: 3 })
        .expect(201);
      expect(res.body).toMatchObject({ ownerId: 'initech', item: 'stapler', quantity: 3 });
      expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
      const listed = (await http().get('/orders').set(bearer(reader.key)).expect(200)).body;
      expect(listed).toEqual([res.body]);
    });

    it('POST /orders refuses bad bodies with clear messages', async () => {
      const cases: [unknown, string][] = [
        [{ item: 'x', quantity: 0 }, 'quantity must not be less than 1'],
        [{ item: 'x', quantity: 1001 }, 'quantity must not be greater than 1000'],
        [{ item: 'x', quantity: 1.5 }, 'quantity must be an integer number'],
        [{ quantity: 1 }, 'item should not be empty'],
        [{ item: 'x', quantity: 1, price: 9 }, 'property price should not exist'],
      ];
      for (const [body, message] of cases) {
        const res = await http()
          .post('/orders')
          .set(bearer(admin))
          .send(body as object)
          .expect(400);
        expect(res.body.message).toContain(message);
      }
      expect((await http().get('/orders').set(bearer(admin)).expect(200)).body).toEqual([]);
    });
  });

  describe('key management', () => {
    it('needs keys:admin', async () => {
      const reader = await issue({ name: 'reader', scopes: ['orders:read'] });
      const res = await http().post('/keys').set(bearer(reader.key)).send({ name: 'x', scopes: [] }).expect(403);
      expect(res.headers['www-authenticate']).toContain('scope="keys:admin"');
      await http().get('/keys').set(bearer(reader.key)).expect(403);
    });

    it('POST /keys issues a working key and shows it this once', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const body = {
        name: 'billing export',
        scopes: ['orders:read'],
        ownerId: 'acme',
        expiresAt,
        metadata: { plan: 'pro' },
      };
      const { key, record } = await issue(body);
      expect(key).toMatch(KEY);
      expect(record).toMatchObject({ ...body, hint: key.slice(0, 12), revokedAt: null, replacedById: null });
      expect(record).not.toHaveProperty('hash');
      await http().get('/orders').set(bearer(key)).expect(200);
      const fetched = (await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body;
      expect(fetched).toEqual(record);
    });

    it('GET /keys lists pages of records without any key or hash', async () => {
      const res = await http().get('/keys').set(bearer(admin)).expect(200);
      expect(res.body.total).toBe(plaintexts.size);
      expect(res.body).toMatchObject({ limit: 50, offset: 0 });
      for (const item of res.body.items) {
        expect(item).not.toHaveProperty('hash');
        expect(item).not.toHaveProperty('key');
      }
      for (const key of plaintexts) expect(res.text).not.toContain(key);
      const page = (await http().get('/keys?limit=2&offset=1').set(bearer(admin)).expect(200)).body;
      expect(page).toMatchObject({ total: plaintexts.size, limit: 2, offset: 1 });
      expect(page.items.map((k: { id: string }) => k.id)).toEqual(
        res.body.items.slice(1, 3).map((k: { id: string }) => k.id),
      );
      const acme = (await http().get('/keys?ownerId=acme').set(bearer(admin)).expect(200)).body;
      expect(acme.items.length).toBeGreaterThan(0);
      expect(acme.items.every((k: { ownerId: string }) => k.ownerId === 'acme')).toBe(true);
      const bad = await http().get('/keys?limit=500&sort=name').set(bearer(admin)).expect(400);
      expect(bad.body.message).toEqual(
        expect.arrayContaining(['limit must not be greater than 100', 'property sort should not exist']),
      );
    });

    it('rotate without grace: the old key is refused at once, the successor works', async () => {
      const old = await issue({ name: 'svc', scopes: ['orders:read'], ownerId: 'acme', metadata: { team: 'ops' } });
      const res = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).send({}).expect(201);
      plaintexts.add(res.body.key);
      expect(res.body.key).toMatch(KEY);
      expect(res.body.record).toMatchObject({
        name: 'svc',
        scopes: ['orders:read'],
        ownerId: 'acme',
        metadata: { team: 'ops' },
      });
      expect(res.body.previous).toMatchObject({
        id: old.record.id,
        replacedById: res.body.record.id,
        revokedReason: 'rotated',
      });
      const refused = await http().get('/orders').set(bearer(old.key)).expect(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      await http().get('/orders').set(bearer(res.body.key)).expect(200);
      const again = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).expect(409);
      expect(again.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: `API key ${old.record.id} is already rotated`,
        code: 'ERR_API_KEY_STATE_ROTATED',
      });
    });

    it('rotate with a grace period: both keys work until it ends', async () => {
      const old = await issue({ name: 'svc', scopes: ['orders:read'] });
      const before = Date.now();
      const res = await http()
        .post(`/keys/${old.record.id}/rotate`)
        .set(bearer(admin))
        .send({ gracePeriodSeconds: 3600 })
        .expect(201);
      plaintexts.add(res.body.key);
      expect(res.body.previous.revokedAt).toBeNull();
      expect(Date.parse(res.body.previous.expiresAt)).toBeGreaterThanOrEqual(before + 3_600_000);
      await http().get('/orders').set(bearer(old.key)).expect(200);
      await http().get('/orders').set(bearer(res.body.key)).expect(200);
      const again = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).expect(409);
      expect(again.body.message).toBe(`API key ${old.record.id} is already rotated`);
    });

    it('revoke: the next request with the key is 401; revoking twice is 409', async () => {
      const { key, record } = await issue({ name: 'leaky', scopes: ['orders:read'] });
      await http().get('/orders').set(bearer(key)).expect(200);
      const res = await http()
        .post(`/keys/${record.id}/revoke`)
        .set(bearer(admin))
        .send({ reason: 'leaked in a CI log' })
        .expect(200);
      expect(res.body).toMatchObject({ id: record.id, revokedReason: 'leaked in a CI log' });
      expect(Date.parse(res.body.revokedAt)).not.toBeNaN();
      const refused = await http().get('/orders').set(bearer(key)).expect(401);
      expect(refused.body).toMatchObject({ statusCode: 401, message: 'Invalid API key' });
      const twice = await http().post(`/keys/${record.id}/revoke`).set(bearer(admin)).expect(409);
      expect(twice.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: `API key ${record.id} is already revoked`,
        code: 'ERR_API_KEY_STATE_REVOKED',
      });
    });

    it('PUT /keys/:id/scopes takes effect on the next request', async () => {
      const { key, record } = await issue({ name: 'changing', scopes: ['orders:read'] });
      await http().get('/orders').set(bearer(key)).expect(200);
      const res = await http()
        .put(`/keys/${record.id}/scopes`)
        .set(bearer(admin))
        .send({ scopes: ['orders:write'] })
        .expect(200);
      expect(res.body).toMatchObject({ id: record.id, scopes: ['orders:write'] });
      await http().get('/orders').set(bearer(key)).expect(403);
      await http().post('/orders').set(bearer(key)).send({ item: 'pen', quantity: 10 }).expect(201);
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const id = randomUUID();
      const notFound = {
        statusCode: 404,
        error: 'Not Found',
        message: `API key ${id} not found`,
        code: 'ERR_API_KEY_NOT_FOUND',
      };
      expect((await http().get(`/keys/${id}`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().post(`/keys/${id}/rotate`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().post(`/keys/${id}/revoke`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().put(`/keys/${id}/scopes`).set(bearer(admin)).send({ scopes: [] }).expect(404)).body).toEqual(
        notFound,
      );
      const malformed = await http().get('/keys/not-a-uuid').set(bearer(admin)).expect(400);
      expect(malformed.body.message).toMatch(/uuid is expected/);
    });

    it('refuses bad bodies with a clear message and changes nothing', async () => {
      const { record } = await issue({ name: 'stable', scopes: ['orders:read'] });
      const count = await keyCount();
      const tooMany = Array.from({ length: 101 }, (_, i) => `scope${i}`);
      const cases: [string, string, object, string][] = [
        ['post', '/keys', { name: 'x', scopes: [], role: 'root' }, 'property role should not exist'],
        ['post', '/keys', { name: 'x', scopes: ['orders read'] }, 'scopes contains an invalid scope "orders read"'],
        ['post', '/keys', { name: 'x', scopes: tooMany }, 'scopes must contain no more than 100 elements'],
        [
          'post',
          '/keys',
          { name: 'x', scopes: [], expiresAt: new Date(Date.now() - 60_000).toISOString() },
          'expiresAt must be in the future',
        ],
        [
          'post',
          '/keys',
          { name: 'x', scopes: [], expiresAt: 'next tuesday' },
          'expiresAt must be an ISO 8601 date-time',
        ],
        ['post', '/keys', { name: '', scopes: [] }, 'name should not be empty'],
        ['post', '/keys', { name: 'x' }, 'scopes must be an array'],
        // Checked by the library, mapped to 400 by ApiKeyExceptionFilter.
        [
          'post',
          '/keys',
          { name: 'x', scopes: [], metadata: { blob: 'x'.repeat(5000) } },
          'metadata must be at most 4096 bytes of JSON',
        ],
        [
          'put',
          `/keys/${record.id}/scopes`,
          { scopes: ['orders read'] },
          'scopes contains an invalid scope "orders read"',
        ],
        ['put', `/keys/${record.id}/scopes`, { scopes: tooMany }, 'scopes must contain no more than 100 elements'],
        ['post', `/keys/${record.id}/rotate`, { gracePeriodSeconds: -1 }, 'gracePeriodSeconds must not be less than 0'],
        ['post', `/keys/${record.id}/revoke`, { reason: 'x', force: true }, 'property force should not exist'],
      ];
      for (const [method, path, body, message] of cases) {
        const res = await (method === 'put' ? http().put(path) : http().post(path))
          .set(bearer(admin))
          .send(body)
          .expect(400);
        expect({ path, body: res.body }).toMatchObject({ path, body: { statusCode: 400, error: 'Bad Request' } });
        expect([res.body.message].flat().join('\n')).toContain(message);
      }
      expect(await keyCount()).toBe(count);
      const unchanged = (await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body;
      expect(unchanged).toEqual(record);
    });
  });

  describe('invalid JSON bodies', () => {
    it('answers a fixed 400 that echoes nothing of the body (a key pasted there stays out of the response)', async () => {
      for (const path of ['/keys', '/api-keys/leaks', '/orders']) {
        const res = await http()
          .post(path)
          .set(bearer(admin))
          .set('Content-Type', 'application/json')
          .send(`${admin}{`)
          .expect(400);
        expect(res.body).toEqual({ statusCode: 400, message: 'Request body is not valid JSON', error: 'Bad Request' });
        expect(res.text).not.toContain(admin.slice(0, 6));
      }
      // Validation errors keep their messages.
      const invalid = await http().post('/keys').set(bearer(admin)).send({ name: 7 }).expect(400);
      expect(invalid.body.message).not.toBe('Request body is not valid JSON');
    });
  });

  describe('environments (sk_live_ / sk_test_)', () => {
    it('issues live keys by default and test keys on request', async () => {
      const live = await issue({ name: 'live default', scopes: ['orders:read'], ownerId: 'acme' });
      const test = await issue({ name: 'sandbox', scopes: ['orders:read'], ownerId: 'acme', environment: 'test' });
      expect(live.key).toMatch(KEY);
      expect(test.key).toMatch(TEST_KEY);
      expect(test.record.hint).toBe(test.key.slice(0, 12));
      const explicit = await issue({ name: 'live explicit', scopes: [], environment: 'live' });
      expect(explicit.key).toMatch(KEY);
    });

    it('answers test keys with sandbox orders only, and keeps their writes out of live data', async () => {
      const liveReader = await issue({ name: 'acme live', scopes: ['orders:read'], ownerId: 'acme' });
      const test = await issue({ name: 'acme test', scopes: ['orders:*'], ownerId: 'acme', environment: 'test' });
      const liveBefore = (await http().get('/orders').set(bearer(liveReader.key)).expect(200)).body;
      expect(liveBefore.map((o: { item: string }) => o.item)).toEqual(['anvil', 'rocket skates']);
      expect(liveBefore.every((o: { sandbox: boolean }) => o.sandbox === false)).toBe(true);

      const sandbox = (await http().get('/orders').set(bearer(test.key)).expect(200)).body;
      expect(sandbox).toEqual([expect.objectContaining({ ownerId: 'acme', item: 'sandbox widget', sandbox: true })]);
      const created = (
        await http().post('/orders').set(bearer(test.key)).send({ item: 'test anvil', quantity: 2 }).expect(201)
      ).body;
      expect(created).toMatchObject({ ownerId: 'acme', item: 'test anvil', quantity: 2, sandbox: true });
      const after = (await http().get('/orders').set(bearer(test.key)).expect(200)).body;
      expect(after.map((o: { item: string }) => o.item)).toEqual(['sandbox widget', 'test anvil']);
      expect(after.every((o: { sandbox: boolean }) => o.sandbox)).toBe(true);

      // Live data is untouched, and live keys never see sandbox orders.
      expect((await http().get('/orders').set(bearer(liveReader.key)).expect(200)).body).toEqual(liveBefore);
    });

    it('refuses an unknown environment with 400 and issues nothing', async () => {
      const count = await keyCount();
      const res = await http()
        .post('/keys')
        .set(bearer(admin))
        .send({ name: 'x', scopes: [], environment: 'prod' })
        .expect(400);
      expect(res.body.message).toEqual(['environment must be one of the following values: live, test']);
      expect(await keyCount()).toBe(count);
    });
  });

  describe('delegation: an admin key grants only what it holds', () => {
    const forbidden = (message: string, reason = 'SCOPE') => ({
      statusCode: 403,
      error: 'Forbidden',
      message,
      code: `ERR_API_KEY_DELEGATION_${reason}`,
    });

    it('refuses scopes beyond the acting key, and * from a non-* admin, with 403 and nothing issued', async () => {
      const orderAdmin = await issue({ name: 'order admin', scopes: ['keys:admin', 'orders:*'] });
      const count = await keyCount();
      for (const [scopes, named] of [
        [['downloads:read'], '"downloads:read"'],
        [['*'], '"*"'],
        [['orders:read', 'keys:*'], '"keys:*"'],
      ] as const) {
        const res = await http().post('/keys').set(bearer(orderAdmin.key)).send({ name: 'x', scopes }).expect(403);
        expect(res.body).toEqual(
          forbidden(`API key ${orderAdmin.record.id} cannot grant ${named}: it does not hold it`),
        );
      }
      expect(await keyCount()).toBe(count);
      const ok = await http()
        .post('/keys')
        .set(bearer(orderAdmin.key))
        .send({ name: 'reader', scopes: ['orders:read', 'orders:refund:*'] })
        .expect(201);
      plaintexts.add(ok.body.key);
    });

    it('refuses self-widening through PUT /keys/:id/scopes', async () => {
      const self = await issue({ name: 'self', scopes: ['keys:admin', 'orders:read'] });
      await http()
        .put(`/keys/${self.record.id}/scopes`)
        .set(bearer(self.key))
        .send({ scopes: ['keys:admin', 'orders:*'] })
        .expect(403);
      const after = (await http().get(`/keys/${self.record.id}`).set(bearer(self.key)).expect(200)).body;
      expect(after.scopes).toEqual(['keys:admin', 'orders:read']);
    });

    it('lets a test admin manage test keys only: no issuing, revoking or rotating live keys', async () => {
      const testAdmin = await issue({ name: 'test admin', scopes: ['keys:admin', 'orders:*'], environment: 'test' });
      const live = await issue({ name: 'live', scopes: ['orders:read'] });
      const env = `API key ${testAdmin.record.id} (test environment) cannot manage live keys`;
      const issued = await http()
        .post('/keys')
        .set(bearer(testAdmin.key))
        .send({ name: 'live?', scopes: ['orders:read'], environment: 'live' })
        .expect(403);
      expect(issued.body).toEqual(forbidden(env, 'ENVIRONMENT'));
      // The default environment (live) is refused too.
      await http().post('/keys').set(bearer(testAdmin.key)).send({ name: 'x', scopes: [] }).expect(403);
      await http().post(`/keys/${live.record.id}/revoke`).set(bearer(testAdmin.key)).send({}).expect(403);
      await http().post(`/keys/${live.record.id}/rotate`).set(bearer(testAdmin.key)).send({}).expect(403);
      await http().get('/orders').set(bearer(live.key)).expect(200);
      const own = await http()
        .post('/keys')
        .set(bearer(testAdmin.key))
        .send({ name: 'sandbox', scopes: ['orders:read'], environment: 'test' })
        .expect(201);
      plaintexts.add(own.body.key);
      expect(own.body.key).toMatch(TEST_KEY);
      const rotated = await http().post(`/keys/${own.body.record.id}/rotate`).set(bearer(testAdmin.key)).expect(201);
      plaintexts.add(rotated.body.key);
      await http().post(`/keys/${rotated.body.record.id}/revoke`).set(bearer(testAdmin.key)).send({}).expect(200);
    });

    it("holds a new key's expiry to the acting key's", async () => {
      const expiresAt = new Date(Date.now() + 10 * DAY).toISOString();
      const shortAdmin = await issue({ name: 'short admin', scopes: ['keys:admin', 'orders:*'], expiresAt });
      const later = new Date(Date.now() + 20 * DAY).toISOString();
      await http()
        .post('/keys')
        .set(bearer(shortAdmin.key))
        .send({ name: 'x', scopes: [], expiresAt: later })
        .expect(403);
      const defaulted = await http()
        .post('/keys')
        .set(bearer(shortAdmin.key))
        .send({ name: 'y', scopes: [] })
        .expect(201);
      plaintexts.add(defaulted.body.key);
      expect(defaulted.body.record.expiresAt).toBe(expiresAt);
    });
  });

  describe('key controls: PATCH /keys/:id, disable / enable, IP allowlists, ?status=', () => {
    it('disables a key reversibly (401 like any invalid key) and enables it again', async () => {
      const { key, record } = await issue({ name: 'paused', scopes: ['orders:read'] });
      const res = await http()
        .post(`/keys/${record.id}/disable`)
        .set(bearer(admin))
        .send({ reason: 'invoice overdue' })
        .expect(200);
      expect(res.body).toMatchObject({ id: record.id, disabledReason: 'invoice overdue', revokedAt: null });
      expect((await http().get('/orders').set(bearer(key)).expect(401)).body).toEqual({
        statusCode: 401,
        message: 'Invalid API key',
        error: 'Unauthorized',
      });
      const disabled = (await http().get('/keys?status=disabled').set(bearer(admin)).expect(200)).body;
      expect(disabled.items.map((item: { id: string }) => item.id)).toContain(record.id);
      await http().post(`/keys/${record.id}/disable`).set(bearer(admin)).send({}).expect(409);
      await http().post(`/keys/${record.id}/enable`).set(bearer(admin)).expect(200);
      await http().get('/orders').set(bearer(key)).expect(200);
      await http().get('/keys?status=paused').set(bearer(admin)).expect(400);
    });

    it('PATCH /keys/:id changes name, metadata and allowlist; the next request sees them', async () => {
      const { key, record } = await issue({ name: 'svc', scopes: ['orders:read'], ownerId: 'acme' });
      const res = await http()
        .patch(`/keys/${record.id}`)
        .set(bearer(admin))
        .send({ name: 'renamed', metadata: { team: 'ops' }, allowedIps: ['203.0.113.0/24'] })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'renamed', metadata: { team: 'ops' }, allowedIps: ['203.0.113.0/24'] });
      // The sample trusts no proxy: the test client is 127.0.0.1, outside the list.
      const refused = await http().get('/orders').set(bearer(key)).expect(403);
      expect(refused.body.message).toBe('This API key may not be used from this address');
      const bad = await http()
        .patch(`/keys/${record.id}`)
        .set(bearer(admin))
        .send({ allowedIps: ['300.1.1.1'] })
        .expect(400);
      expect(bad.body.message).toMatch(/invalid allowedIps entry "300.1.1.1"/);
      await http().patch(`/keys/${record.id}`).set(bearer(admin)).send({ allowedIps: null }).expect(200);
      await http().get('/orders').set(bearer(key)).expect(200);
      const [event] = (await http().get(`/keys/${record.id}/events`).set(bearer(admin)).expect(200)).body.items;
      expect(event).toMatchObject({ type: 'updated', details: { fields: ['allowedIps'] } });
    });

    it('issues keys bound to an allowlist, and holds disable, enable and PATCH to delegation', async () => {
      const local = await issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
      await http().get('/orders').set(bearer(local.key)).expect(200);
      const testAdmin = await issue({ name: 'test admin', scopes: ['keys:admin', 'orders:*'], environment: 'test' });
      await http().post(`/keys/${local.record.id}/disable`).set(bearer(testAdmin.key)).send({}).expect(403);
      await http().patch(`/keys/${local.record.id}`).set(bearer(testAdmin.key)).send({ name: 'x' }).expect(403);
      // No key lifts its own limits.
      const limited = await issue({
        name: 'limited admin',
        scopes: ['keys:admin'],
        rateLimit: { limit: 5, windowMs: 60_000 },
      });
      const self = await http()
        .patch(`/keys/${limited.record.id}`)
        .set(bearer(limited.key))
        .send({ rateLimit: null })
        .expect(403);
      expect(self.body.message).toBe(`API key ${limited.record.id} cannot change its own rateLimit`);
    });
  });

  describe('expiry policy (default 90 days, at most 365)', () => {
    it('gives keys issued without expiresAt the 90-day default; the bootstrap admin key lives the 365-day maximum', async () => {
      const before = Date.now();
      const { record } = await issue({ name: 'defaulted', scopes: [] });
      expect(Date.parse(record.expiresAt)).toBeGreaterThanOrEqual(before + 90 * DAY);
      expect(Date.parse(record.expiresAt)).toBeLessThan(Date.now() + 90 * DAY + 1000);
      const bootstrap = (await http().get(`/keys/${adminId}`).set(bearer(admin)).expect(200)).body;
      // No key it issues may outlive it, so it lives as long as the policy allows: their defaults stay whole.
      const lifetime = Date.parse(bootstrap.expiresAt) - Date.parse(bootstrap.createdAt);
      expect(lifetime).toBeLessThanOrEqual(365 * DAY);
      expect(lifetime).toBeGreaterThan(365 * DAY - 1000);
      expect(printed).toContain(
        `It expires on ${bootstrap.expiresAt}; renew it before then with POST /keys/self/rotate.`,
      );
    });

    it('accepts an expiry within 365 days', async () => {
      const expiresAt = new Date(Date.now() + 364 * DAY).toISOString();
      const { record } = await issue({ name: 'long but allowed', scopes: [], expiresAt });
      expect(record.expiresAt).toBe(expiresAt);
    });

    it("refuses a longer one with 400 and the library's message, and issues nothing", async () => {
      const count = await keyCount();
      const expiresAt = new Date(Date.now() + 400 * DAY).toISOString();
      const res = await http()
        .post('/keys')
        .set(bearer(admin))
        .send({ name: 'forever-ish', scopes: [], expiresAt })
        .expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: `expiresAt is beyond the maximum lifetime of ${365 * DAY} ms`,
        code: 'ERR_API_KEY_VALIDATION',
      });
      expect(await keyCount()).toBe(count);
    });
  });

  describe('usage limits (maxUses) and the single-use download', () => {
    it('a single-use key downloads the report once, then gets the same 401 as any invalid key', async () => {
      const { key, record } = await issue({
        name: 'report link',
        scopes: ['downloads:read'],
        ownerId: 'acme',
        maxUses: 1,
      });
      expect(record.remainingUses).toBe(1);
      const res = await http().get('/downloads/report').set(bearer(key)).expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="orders-report.csv"');
      expect(res.headers['cache-control']).toBe('no-store');
      const lines = res.text.trim().split('\r\n');
      expect(lines[0]).toBe('id,item,quantity,createdAt,sandbox');
      expect(lines.slice(1).map((line) => line.split(',')[1])).toEqual(['"anvil"', '"rocket skates"']);
      const again = await http().get('/downloads/report').set(bearer(key)).expect(401);
      expect(again.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      expect(again.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
      expect((await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body.remainingUses).toBe(0);
    });

    it('counts every passed request, on any route, and spends no use on a 403', async () => {
      const { key, record } = await issue({
        name: 'three uses',
        scopes: ['orders:read'],
        ownerId: 'globex',
        maxUses: 3,
      });
      await http().get('/downloads/report').set(bearer(key)).expect(403);
      await http().get('/orders').set(bearer(key)).expect(200);
      await http().get('/orders').set(bearer(key)).expect(200);
      expect((await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body.remainingUses).toBe(1);
      await http().get('/orders').set(bearer(key)).expect(200);
      await http().get('/orders').set(bearer(key)).expect(401);
    });

    it('needs downloads:read, and gives test keys a sandbox report', async () => {
      const orderAdmin = await issue({ name: 'order admin', scopes: ['keys:admin', 'orders:*'] });
      const res = await http().get('/downloads/report').set(bearer(orderAdmin.key)).expect(403);
      expect(res.headers['www-authenticate']).toContain('scope="downloads:read"');
      const test = await issue({
        name: 'test link',
        scopes: ['downloads:read'],
        ownerId: 'globex',
        environment: 'test',
        maxUses: 1,
      });
      const report = await http().get('/downloads/report').set(bearer(test.key)).expect(200);
      expect(report.text).toContain('"sandbox widget"');
      expect(report.text).not.toContain('hammock');
    });

    it('refuses bad maxUses with 400 and issues nothing', async () => {
      const count = await keyCount();
      for (const [maxUses, message] of [
        [0, 'maxUses must not be less than 1'],
        [1.5, 'maxUses must be an integer number'],
        ['1', 'maxUses must be an integer number'],
      ] as const) {
        const res = await http().post('/keys').set(bearer(admin)).send({ name: 'x', scopes: [], maxUses }).expect(400);
        expect(res.body.message).toContain(message);
      }
      expect(await keyCount()).toBe(count);
    });
  });

  describe('per-key rate limits (default 600 a minute)', () => {
    it('holds a key to its own limit: 429 with Retry-After and RateLimit headers', async () => {
      const { key, record } = await issue({
        name: 'throttled',
        scopes: ['orders:read'],
        ownerId: 'acme',
        rateLimit: { limit: 2, windowMs: 60_000 },
      });
      expect(record).toMatchObject({ rateLimitMax: 2, rateLimitWindowMs: 60_000 });
      const first = await http().get('/orders').set(bearer(key)).expect(200);
      expect(first.headers).toMatchObject({
        'ratelimit-policy': '2;w=60',
        'ratelimit-limit': '2',
        'ratelimit-remaining': '1',
      });
      await http().get('/orders').set(bearer(key)).expect(200);
      const refused = await http().get('/orders').set(bearer(key)).expect(429);
      expect(refused.body).toEqual({
        statusCode: 429,
        message: 'Too many requests for this API key',
        error: 'Too Many Requests',
      });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.headers).toMatchObject({ 'ratelimit-limit': '2', 'ratelimit-remaining': '0' });
      expect(Number(refused.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
      // Counted per key: another key is not affected.
      const other = await issue({ name: 'unthrottled', scopes: ['orders:read'], ownerId: 'acme' });
      await http().get('/orders').set(bearer(other.key)).expect(200);
    });

    it('applies the module default to keys without their own limit', async () => {
      const res = await http().get('/orders').set(bearer(admin)).expect(200);
      expect(res.headers).toMatchObject({ 'ratelimit-policy': '600;w=60', 'ratelimit-limit': '600' });
      expect(Number(res.headers['ratelimit-remaining'])).toBeLessThan(600);
      const { record } = await issue({ name: 'default limit', scopes: [] });
      expect(record).toMatchObject({ rateLimitMax: null, rateLimitWindowMs: null });
    });

    it('refuses bad limits with 400 and issues nothing', async () => {
      const count = await keyCount();
      const cases: [unknown, string][] = [
        [{ limit: 0, windowMs: 60_000 }, 'rateLimit.limit must not be less than 1'],
        [{ limit: 10, windowMs: 500 }, 'rateLimit.windowMs must not be less than 1000'],
        [{ limit: 10 }, 'rateLimit.windowMs must be an integer number'],
        [{ limit: 10, windowMs: 60_000, burst: 5 }, 'rateLimit.property burst should not exist'],
        ['fast', 'rateLimit must be an object'],
      ];
      for (const [rateLimit, message] of cases) {
        const res = await http()
          .post('/keys')
          .set(bearer(admin))
          .send({ name: 'x', scopes: [], rateLimit })
          .expect(400);
        expect({ rateLimit, message: [res.body.message].flat() }).toEqual({
          rateLimit,
          message: expect.arrayContaining([message]),
        });
      }
      expect(await keyCount()).toBe(count);
    });
  });

  describe('usage and lifecycle events: GET /keys/:id/usage, the event log', () => {
    it("shows a key's requests per hour and outcome, and logs its lifecycle events", async () => {
      const { key, record } = await issue({ name: 'used', scopes: ['orders:read'] });
      for (let i = 0; i < 3; i++) await http().get('/orders').set(bearer(key)).expect(200);
      await app.get(ApiKeyUsageRecorder).flush();
      const res = await http().get(`/keys/${record.id}/usage`).set(bearer(admin)).expect(200);
      expect(res.body.granularity).toBe('hour');
      expect(res.body.totals).toMatchObject({ verified: 3, forbidden: 0 });
      expect(res.body.points.length).toBeGreaterThanOrEqual(24);
      await http().get(`/keys/${randomUUID()}/usage`).set(bearer(admin)).expect(404);
      await app.get(ApiKeyEventPublisher).idle();
      expect(logs.lines.join('\n')).toContain(`issued ${record.id} by key:${adminId}`);
    });
  });

  describe('audit log: GET /keys/:id/events', () => {
    it("lists a key's events newest first, with the acting key as actor and no secret", async () => {
      const { key, record } = await issue({ name: 'audited', scopes: ['orders:read'], ownerId: 'audit-co' });
      await http()
        .put(`/keys/${record.id}/scopes`)
        .set(bearer(admin))
        .send({ scopes: ['orders:write'] })
        .expect(200);
      await http().post(`/keys/${record.id}/revoke`).set(bearer(admin)).send({ reason: 'audit demo' }).expect(200);
      const res = await http().get(`/keys/${record.id}/events`).set(bearer(admin)).expect(200);
      expect(res.body).toMatchObject({ total: 3, limit: 50, offset: 0 });
      expect(res.body.items.map((e: { type: string; actor: string }) => [e.type, e.actor])).toEqual([
        ['revoked', `key:${adminId}`],
        ['scopes_changed', `key:${adminId}`],
        ['issued', `key:${adminId}`],
      ]);
      expect(res.body.items[0]).toMatchObject({
        keyId: record.id,
        ownerId: 'audit-co',
        details: { reason: 'audit demo' },
      });
      expect(res.body.items[1].details).toEqual({ scopes: ['orders:write'] });
      expect(res.body.items[2].details).toMatchObject({ scopes: ['orders:read'], maxUses: null, rateLimit: null });
      expect(res.text).not.toContain(key);
      const page = (await http().get(`/keys/${record.id}/events?limit=1&offset=1`).set(bearer(admin)).expect(200)).body;
      expect(page).toMatchObject({
        total: 3,
        limit: 1,
        offset: 1,
        items: [expect.objectContaining({ type: 'scopes_changed' })],
      });
    });

    it('records the bootstrap key\'s issue with actor "bootstrap"', async () => {
      const events = (await http().get(`/keys/${adminId}/events`).set(bearer(admin)).expect(200)).body;
      expect(events.items).toEqual([expect.objectContaining({ type: 'issued', actor: 'bootstrap', keyId: adminId })]);
    });

    it('needs keys:admin, and answers 404 for an unknown key and 400 for a bad query', async () => {
      const reader = await issue({ name: 'nosy', scopes: ['orders:read'] });
      const denied = await http().get(`/keys/${reader.record.id}/events`).set(bearer(reader.key)).expect(403);
      expect(denied.headers['www-authenticate']).toContain('scope="keys:admin"');
      const id = randomUUID();
      expect((await http().get(`/keys/${id}/events`).set(bearer(admin)).expect(404)).body.message).toBe(
        `API key ${id} not found`,
      );
      const bad = await http().get(`/keys/${reader.record.id}/events?limit=0&type=x`).set(bearer(admin)).expect(400);
      expect(bad.body.message).toEqual(
        expect.arrayContaining(['limit must not be less than 1', 'property type should not exist']),
      );
    });
  });

  describe('self-service rotation: POST /keys/self/rotate', () => {
    it('lets any key rotate itself; the successor keeps its settings, the old key stops at once', async () => {
      const old = await issue({
        name: 'self',
        scopes: ['orders:read'],
        ownerId: 'acme',
        environment: 'test',
        maxUses: 100,
        rateLimit: { limit: 50, windowMs: 60_000 },
      });
      const res = await http().post('/keys/self/rotate').set('X-API-Key', old.key).send({}).expect(201);
      plaintexts.add(res.body.key);
      expect(res.body.key).toMatch(TEST_KEY);
      expect(res.body.record).toMatchObject({
        name: 'self',
        ownerId: 'acme',
        scopes: ['orders:read'],
        familyId: old.record.id,
        remainingUses: 99, // the rotation request itself passed the guard and spent one
        rateLimitMax: 50,
      });
      expect(res.body.previous).toMatchObject({
        id: old.record.id,
        replacedById: res.body.record.id,
        revokedReason: 'rotated',
      });
      await http().get('/orders').set(bearer(old.key)).expect(401);
      await http().get('/orders').set(bearer(res.body.key)).expect(200);
      const events = (await http().get(`/keys/${old.record.id}/events`).set(bearer(admin)).expect(200)).body.items;
      expect(events[0]).toMatchObject({
        type: 'rotated',
        actor: `key:${old.record.id}`,
        details: { successorId: res.body.record.id },
      });
    });

    it('does not multiply a use limit: maxUses 3, self-rotated with a 300 s grace, passes 3 requests in all', async () => {
      const old = await issue({ name: 'three uses', scopes: ['orders:read'], maxUses: 3 });
      const rotated = await http()
        .post('/keys/self/rotate')
        .set(bearer(old.key))
        .send({ gracePeriodSeconds: 300 })
        .expect(201); // the rotation request itself spends one
      plaintexts.add(rotated.body.key);
      const statuses: number[] = [];
      for (const key of [old.key, rotated.body.key, old.key, rotated.body.key])
        statuses.push((await http().get('/orders').set(bearer(key))).status);
      expect(statuses).toEqual([200, 200, 401, 401]);
      for (const id of [old.record.id, rotated.body.record.id])
        expect((await http().get(`/keys/${id}`).set(bearer(admin)).expect(200)).body.remainingUses).toBe(0);
    });

    it('revokes the whole family when a rotated-away key (still in its grace period) is rotated again: 409', async () => {
      const first = await issue({ name: 'family', scopes: ['orders:read'], ownerId: 'acme' });
      const second = (
        await http().post('/keys/self/rotate').set(bearer(first.key)).send({ gracePeriodSeconds: 300 }).expect(201)
      ).body;
      plaintexts.add(second.key);
      await http().get('/orders').set(bearer(first.key)).expect(200); // grace period
      await http().get('/orders').set(bearer(second.key)).expect(200);
      // Someone presents the rotated-away key for rotation again: two parties hold the family.
      const reuse = await http().post('/keys/self/rotate').set(bearer(first.key)).send({}).expect(409);
      expect(reuse.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: `API key ${first.record.id} was already rotated: reuse detected, every key of its rotation family is now revoked`,
      });
      for (const key of [first.key, second.key]) await http().get('/orders').set(bearer(key)).expect(401);
      for (const id of [first.record.id, second.record.id]) {
        expect((await http().get(`/keys/${id}`).set(bearer(admin)).expect(200)).body.revokedReason).toBe(
          'reuse_detected',
        );
      }
      const events = (await http().get(`/keys/${first.record.id}/events`).set(bearer(admin)).expect(200)).body.items;
      expect(events[0]).toMatchObject({
        type: 'reuse_detected',
        details: { familyId: first.record.id, revokedKeys: 2 },
      });
      expect(
        (await http().get('/keys?ownerId=acme&limit=100').set(bearer(admin)).expect(200)).body.items.some(
          (k: { familyId: string; revokedAt: string | null }) => k.familyId === first.record.id && k.revokedAt === null,
        ),
      ).toBe(false);
    });

    it('is behind the guard: no key 401, a dead key 401, bad bodies 400 with nothing rotated', async () => {
      await http().post('/keys/self/rotate').send({}).expect(401);
      const { key, record } = await issue({ name: 'stays', scopes: [] });
      for (const [body, message] of [
        [{ gracePeriodSeconds: -1 }, 'gracePeriodSeconds must not be less than 0'],
        [{ id: randomUUID() }, 'property id should not exist'],
      ] as const) {
        const res = await http().post('/keys/self/rotate').set(bearer(key)).send(body).expect(400);
        expect(res.body.message).toContain(message);
      }
      expect((await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body).toEqual(record);
      await http().post(`/keys/${record.id}/revoke`).set(bearer(admin)).send({}).expect(200);
      const dead = await http().post('/keys/self/rotate').set(bearer(key)).send({}).expect(401);
      expect(dead.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
    });
  });

  describe('leaked keys and introspection', () => {
    it('keeps the bootstrap admin key out of both: 403 on the endpoints, 403 issuing their scopes', async () => {
      const count = await keyCount();
      for (const scope of ['keys:leaks', 'keys:introspect', 'keys:*']) {
        const res = await http()
          .post('/keys')
          .set(bearer(admin))
          .send({ name: 'x', scopes: [scope] })
          .expect(403);
        expect(res.body).toEqual({
          statusCode: 403,
          error: 'Forbidden',
          message: `API key ${adminId} cannot grant ${JSON.stringify(scope)}: it does not hold it`,
          code: 'ERR_API_KEY_DELEGATION_SCOPE',
        });
      }
      expect(await keyCount()).toBe(count);
      const leaks = await http()
        .post('/api-keys/leaks')
        .set(bearer(admin))
        .send([{ token: admin }])
        .expect(403);
      expect(leaks.headers['www-authenticate']).toContain('scope="keys:leaks"');
      const peek = await http().post('/oauth/introspect').set(bearer(admin)).type('form').send({ token: admin });
      expect(peek.status).toBe(403);
      expect(peek.headers['www-authenticate']).toContain('scope="keys:introspect"');
      await http().get('/keys').set(bearer(admin)).expect(200); // still a working admin key
    });

    it('takes secret-scanning reports from a dedicated keys:leaks key, not from a keys:admin key', async () => {
      const scanner = await operatorIssue({ name: 'github secret scanning', scopes: ['keys:leaks'] });
      const leaked = await issue({ name: 'pasted in a gist', scopes: ['orders:read'], ownerId: 'acme' });
      const denied = await http()
        .post('/api-keys/leaks')
        .set(bearer(admin))
        .send([{ token: leaked.key }])
        .expect(403);
      expect(denied.headers['www-authenticate']).toContain('scope="keys:leaks"');
      await http().get('/orders').set(bearer(leaked.key)).expect(200);
      const res = await http()
        .post('/api-keys/leaks')
        .set(bearer(scanner.key))
        .send([
          { token: leaked.key, url: 'https://gist.example/1' },
          { token: leaked.key },
          { token: 'sk_live_not_a_key' },
        ])
        .expect(200);
      expect(res.body).toEqual({
        results: [{ status: 'revoked' }, { status: 'already_revoked' }, { status: 'unknown' }],
      });
      expect(res.text).not.toContain(leaked.key);
      await http().get('/orders').set(bearer(leaked.key)).expect(401);
      expect((await http().get(`/keys/${leaked.record.id}`).set(bearer(admin)).expect(200)).body.revokedReason).toBe(
        'reported by secret scanning',
      );
    });

    it('answers malformed reports with 400 and revokes nothing', async () => {
      const scanner = await operatorIssue({ name: 'scanner', scopes: ['keys:leaks'] });
      const bystander = await issue({ name: 'bystander', scopes: [] });
      for (const body of [{}, [], [{ url: 'x' }]]) {
        const res = await http().post('/api-keys/leaks').set(bearer(scanner.key)).send(body).expect(400);
        expect(res.body.message).toMatch(/report/);
      }
      expect(
        (await http().get(`/keys/${bystander.record.id}`).set(bearer(admin)).expect(200)).body.revokedAt,
      ).toBeNull();
    });

    it('introspects keys (RFC 7662) for a dedicated keys:introspect key, spending no use', async () => {
      const service = await operatorIssue({ name: 'orders service', scopes: ['keys:introspect'] });
      const client = await issue({
        name: 'client',
        scopes: ['orders:read', 'orders:write'],
        ownerId: 'acme',
        environment: 'test',
        maxUses: 5,
        rateLimit: { limit: 10, windowMs: 60_000 },
      });
      await http().post('/oauth/introspect').set(bearer(admin)).type('form').send({ token: client.key }).expect(403);
      const res = await http()
        .post('/oauth/introspect')
        .set(bearer(service.key))
        .type('form')
        .send({ token: client.key })
        .expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({
        active: true,
        scope: 'orders:read orders:write',
        client_id: client.record.id,
        sub: 'acme',
        exp: Math.floor(Date.parse(client.record.expiresAt) / 1000),
        token_type: 'api_key',
        ext: {
          name: 'client',
          family_id: client.record.id,
          environment: 'test',
          metadata: null,
          remaining_uses: 5,
          rate_limit: { limit: 10, window_ms: 60_000 },
        },
      });
      const json = await http()
        .post('/oauth/introspect')
        .set(bearer(service.key))
        .send({ token: client.key })
        .expect(200);
      expect(json.body.ext.remaining_uses).toBe(5);
      expect((await http().get(`/keys/${client.record.id}`).set(bearer(admin)).expect(200)).body.remainingUses).toBe(5);
    });

    it('answers { active: false } for anything but a live key, and 400 without a token', async () => {
      const service = await operatorIssue({ name: 'introspector', scopes: ['keys:introspect'] });
      const revoked = await issue({ name: 'gone', scopes: [] });
      await http().post(`/keys/${revoked.record.id}/revoke`).set(bearer(admin)).send({}).expect(200);
      for (const token of [revoked.key, 'sk_live_not_a_key', 'hello']) {
        const res = await http()
          .post('/oauth/introspect')
          .set(bearer(service.key))
          .type('form')
          .send({ token })
          .expect(200);
        expect(res.body).toEqual({ active: false });
      }
      const missing = await http().post('/oauth/introspect').set(bearer(service.key)).type('form').send({}).expect(400);
      expect(missing.body).toMatchObject({ error: 'invalid_request' });
    });
  });

  // With `globalGuard: true` the library's own controllers are guarded twice (globally and by
  // their @UseGuards): the guard verifies, counts and charges a request once, then only checks scopes.
  it("a call to the library's controllers costs the calling key one use and one rate-limit hit", async () => {
    const service = await operatorIssue({
      name: 'metered service',
      scopes: ['keys:introspect'],
      maxUses: 100,
      rateLimit: { limit: 100, windowMs: 60_000 },
    });
    const res = await http()
      .post('/oauth/introspect')
      .set(bearer(service.key))
      .type('form')
      .send({ token: admin })
      .expect(200);
    expect(res.body.active).toBe(true);
    expect((await http().get(`/keys/${service.record.id}`).set(bearer(admin)).expect(200)).body.remainingUses).toBe(99);
    expect(res.headers['ratelimit-remaining']).toBe('99');
  });

  describe('second start on the same file', () => {
    it('issues no key, keeps the admin key working and has flushed lastUsedAt on shutdown', async () => {
      const count = await keyCount();
      await app.close();
      const second = await start();
      expect(second).not.toMatch(KEYS_IN_TEXT);
      expect(logs.lines.join('\n')).toContain('keys exist, not issuing');
      expect(await keyCount()).toBe(count);
      const page = (await http().get('/keys?limit=100').set(bearer(admin)).expect(200)).body;
      const bootstrap = page.items.filter((k: { name: string }) => k.name === 'bootstrap admin');
      expect(bootstrap).toHaveLength(1);
      expect(Date.parse(bootstrap[0].lastUsedAt)).not.toBeNaN();
    });
  });

  it('never writes a plaintext key to the logs', () => {
    const text = logs.lines.join('\n');
    expect(plaintexts.size).toBeGreaterThan(10);
    for (const key of plaintexts) expect(text).not.toContain(key);
    expect(text).not.toMatch(KEYS_IN_TEXT);
  });
});
