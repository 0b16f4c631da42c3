import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { LogCapture } from '../support/log-capture.js';

const KEY = /^sk_[0-9A-Za-z]+$/;
const KEYS_IN_TEXT = /\bsk_[0-9A-Za-z]+/g;

/**
 * The sample app as a user runs it: its own AppModule, a SQLite file, a real
 * HTTP server. It is an embedded-SQLite app, so it runs on SQLite whatever DB_TYPE says.
 */
describe('sample app', () => {
  const env = { DATABASE_PATH: process.env.DATABASE_PATH, PORT: process.env.PORT };
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-api-keys-sample-'));
  const databasePath = join(dir, 'nested', 'sample.sqlite');
  const logs = new LogCapture();
  const plaintexts = new Set<string>();
  let app: INestApplication;
  let printed: string;
  let admin: string;

  /** Boots the sample app on port 0, returning what it wrote to stdout while starting. */
  async function start(): Promise<string> {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      app = await createSampleApp({ logger: logs });
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

  async function keyCount(): Promise<number> {
    return (await http().get('/keys').set(bearer(admin)).expect(200)).body.total;
  }

  beforeAll(async () => {
    process.env.DATABASE_PATH = databasePath;
    process.env.PORT = '3000';
    printed = await start();
    admin = printed.match(KEYS_IN_TEXT)?.[0] ?? '';
    plaintexts.add(admin);
  });

  afterAll(async () => {
    await app?.close();
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
      expect(page.items[0]).toMatchObject({ name: 'bootstrap admin', scopes: ['keys:admin', 'orders:*'], ownerId: null, revokedAt: null });
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

    it('POST /orders with orders:write creates an order for the caller\'s owner', async () => {
      const writer = await issue({ name: 'writer', scopes: ['orders:write'], ownerId: 'initech' });
      const reader = await issue({ name: 'reader', scopes: ['orders:read'], ownerId: 'initech' });
      await http().post('/orders').set(bearer(reader.key)).send({ item: 'stapler', quantity: 1 }).expect(403);
      const res = await http().post('/orders').set(bearer(writer.key)).send({ item: 'stapler', quantity: 3 }).expect(201);
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
        const res = await http().post('/orders').set(bearer(admin)).send(body as object).expect(400);
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
      const body = { name: 'billing export', scopes: ['orders:read'], ownerId: 'acme', expiresAt, metadata: { plan: 'pro' } };
      const { key, record } = await issue(body);
      expect(key).toMatch(KEY);
      expect(record).toMatchObject({ ...body, hint: key.slice(0, 7), revokedAt: null, replacedById: null });
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
      expect(page.items.map((k: { id: string }) => k.id)).toEqual(res.body.items.slice(1, 3).map((k: { id: string }) => k.id));
      const acme = (await http().get('/keys?ownerId=acme').set(bearer(admin)).expect(200)).body;
      expect(acme.items.length).toBeGreaterThan(0);
      expect(acme.items.every((k: { ownerId: string }) => k.ownerId === 'acme')).toBe(true);
      const bad = await http().get('/keys?limit=500&sort=name').set(bearer(admin)).expect(400);
      expect(bad.body.message).toEqual(expect.arrayContaining(['limit must not be greater than 100', 'property sort should not exist']));
    });

    it('rotate without grace: the old key is refused at once, the successor works', async () => {
      const old = await issue({ name: 'svc', scopes: ['orders:read'], ownerId: 'acme', metadata: { team: 'ops' } });
      const res = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).send({}).expect(201);
      plaintexts.add(res.body.key);
      expect(res.body.key).toMatch(KEY);
      expect(res.body.record).toMatchObject({ name: 'svc', scopes: ['orders:read'], ownerId: 'acme', metadata: { team: 'ops' } });
      expect(res.body.previous).toMatchObject({ id: old.record.id, replacedById: res.body.record.id, revokedReason: 'rotated' });
      const refused = await http().get('/orders').set(bearer(old.key)).expect(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      await http().get('/orders').set(bearer(res.body.key)).expect(200);
      const again = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).expect(409);
      expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: `API key ${old.record.id} is already rotated` });
    });

    it('rotate with a grace period: both keys work until it ends', async () => {
      const old = await issue({ name: 'svc', scopes: ['orders:read'] });
      const before = Date.now();
      const res = await http().post(`/keys/${old.record.id}/rotate`).set(bearer(admin)).send({ gracePeriodSeconds: 3600 }).expect(201);
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
      const res = await http().post(`/keys/${record.id}/revoke`).set(bearer(admin)).send({ reason: 'leaked in a CI log' }).expect(200);
      expect(res.body).toMatchObject({ id: record.id, revokedReason: 'leaked in a CI log' });
      expect(Date.parse(res.body.revokedAt)).not.toBeNaN();
      const refused = await http().get('/orders').set(bearer(key)).expect(401);
      expect(refused.body).toMatchObject({ statusCode: 401, message: 'Invalid API key' });
      const twice = await http().post(`/keys/${record.id}/revoke`).set(bearer(admin)).expect(409);
      expect(twice.body).toEqual({ statusCode: 409, error: 'Conflict', message: `API key ${record.id} is already revoked` });
    });

    it('PUT /keys/:id/scopes takes effect on the next request', async () => {
      const { key, record } = await issue({ name: 'changing', scopes: ['orders:read'] });
      await http().get('/orders').set(bearer(key)).expect(200);
      const res = await http().put(`/keys/${record.id}/scopes`).set(bearer(admin)).send({ scopes: ['orders:write'] }).expect(200);
      expect(res.body).toMatchObject({ id: record.id, scopes: ['orders:write'] });
      await http().get('/orders').set(bearer(key)).expect(403);
      await http().post('/orders').set(bearer(key)).send({ item: 'pen', quantity: 10 }).expect(201);
    });

    it('answers 404 for an unknown id and 400 for a malformed one', async () => {
      const id = randomUUID();
      const notFound = { statusCode: 404, error: 'Not Found', message: `API key ${id} not found` };
      expect((await http().get(`/keys/${id}`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().post(`/keys/${id}/rotate`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().post(`/keys/${id}/revoke`).set(bearer(admin)).expect(404)).body).toEqual(notFound);
      expect((await http().put(`/keys/${id}/scopes`).set(bearer(admin)).send({ scopes: [] }).expect(404)).body).toEqual(notFound);
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
        ['post', '/keys', { name: 'x', scopes: [], expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt must be in the future'],
        ['post', '/keys', { name: 'x', scopes: [], expiresAt: 'next tuesday' }, 'expiresAt must be an ISO 8601 date-time'],
        ['post', '/keys', { name: '', scopes: [] }, 'name should not be empty'],
        ['post', '/keys', { name: 'x' }, 'scopes must be an array'],
        // Checked by the library, mapped to 400 by ApiKeyExceptionFilter.
        ['post', '/keys', { name: 'x', scopes: [], metadata: { blob: 'x'.repeat(5000) } }, 'metadata must be at most 4096 bytes of JSON'],
        ['put', `/keys/${record.id}/scopes`, { scopes: ['orders read'] }, 'scopes contains an invalid scope "orders read"'],
        ['put', `/keys/${record.id}/scopes`, { scopes: tooMany }, 'scopes must contain no more than 100 elements'],
        ['post', `/keys/${record.id}/rotate`, { gracePeriodSeconds: -1 }, 'gracePeriodSeconds must not be less than 0'],
        ['post', `/keys/${record.id}/revoke`, { reason: 'x', force: true }, 'property force should not exist'],
      ];
      for (const [method, path, body, message] of cases) {
        const res = await (method === 'put' ? http().put(path) : http().post(path)).set(bearer(admin)).send(body).expect(400);
        expect({ path, body: res.body }).toMatchObject({ path, body: { statusCode: 400, error: 'Bad Request' } });
        expect([res.body.message].flat().join('\n')).toContain(message);
      }
      expect(await keyCount()).toBe(count);
      const unchanged = (await http().get(`/keys/${record.id}`).set(bearer(admin)).expect(200)).body;
      expect(unchanged).toEqual(record);
    });
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
