import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyValidationError } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { httpPlatform } from '../support/http-platform.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const REFUSED = { statusCode: 403, message: 'This API key may not be used from this address', error: 'Forbidden' };

/**
 * Per-key IP allowlists through real HTTP, on the configured database and
 * platform (HTTP_PLATFORM=fastify too): the address is the adapter's `req.ip`.
 */
describe(`IP allowlists (${httpPlatform()})`, () => {
  describe('behind a trusted proxy (trust proxy / trustProxy on)', () => {
    let t: TestApp;
    let storage: ThrottlerStorageProcess;
    const http = () => request(t.app.getHttpServer());
    const from = (address: string, key: string) =>
      http().get('/orders').set('X-Forwarded-For', address).set('Authorization', `Bearer ${key}`);

    beforeAll(async () => {
      // The real @nestjs/throttler in-memory storage (in a child process: see throttler-storage.ts).
      storage = await ThrottlerStorageProcess.start();
      t = await createTestApp({
        controllers: [OrdersController],
        options: { rateLimitStorage: storage },
        trustProxy: true,
      });
    });
    afterAll(async () => {
      await t.close();
      storage.stop();
    });

    it('admits IPv4 and IPv6 ranges (and IPv4-mapped IPv6), refuses the rest with a 403 that tells nothing', async () => {
      const { key, record } = await t.service.issue({
        name: 'office',
        scopes: ['orders:read'],
        allowedIps: ['203.0.113.0/24', '2001:db8::/32'],
      });
      expect(record.allowedIps).toEqual(['203.0.113.0/24', '2001:db8::/32']);
      await from('203.0.113.5', key).expect(200);
      await from('2001:db8::42', key).expect(200);
      await from('::ffff:203.0.113.9', key).expect(200);
      for (const address of ['198.51.100.1', '2001:db9::1', '::ffff:198.51.100.1']) {
        const res = await from(address, key).expect(403);
        expect(res.body).toEqual(REFUSED);
        expect(res.text).not.toMatch(/203\.0\.113|2001:db8/);
      }
    });

    it('checks after scopes: a key without the scope gets the scope 403 whatever its address', async () => {
      const { key } = await t.service.issue({ name: 'no scope', scopes: [], allowedIps: ['203.0.113.0/24'] });
      const res = await from('198.51.100.1', key).expect(403);
      expect(res.body.message).toBe('Insufficient scope');
    });

    it('spends nothing from a wrong address: no rate-limit hit, no use', async () => {
      const limited = await t.service.issue({
        name: 'limited',
        scopes: ['orders:read'],
        allowedIps: ['203.0.113.0/24'],
        rateLimit: { limit: 1, windowMs: 60_000 },
        maxUses: 1,
      });
      for (let i = 0; i < 3; i++) await from('198.51.100.1', limited.key).expect(403);
      const passed = await from('203.0.113.7', limited.key).expect(200);
      expect(passed.headers['ratelimit-remaining']).toBe('0');
      expect((await t.service.get(limited.record.id)).remainingUses).toBe(0);
    });

    it('costs a key with an allowlist the same one statement per request as a key without', async () => {
      const plain = await t.service.issue({ name: 'plain', scopes: ['orders:read'] });
      const listed = await t.service.issue({ name: 'listed', scopes: ['orders:read'], allowedIps: ['203.0.113.0/24'] });
      await from('203.0.113.1', listed.key).expect(200); // compiles the list
      for (const key of [plain.key, listed.key]) {
        const statements = await t.queries.during(() => from('203.0.113.1', key).expect(200));
        expect(statements).toHaveLength(1);
      }
      expect(await t.queries.during(() => from('198.51.100.1', listed.key).expect(403))).toHaveLength(1);
    });

    it('fails closed on a stored list it cannot read', async () => {
      const { key, record } = await t.service.issue({
        name: 'corrupt',
        scopes: ['orders:read'],
        allowedIps: ['203.0.113.0/24'],
      });
      await t.dataSource.getRepository('ApiKeyEntity').update({ id: record.id }, { allowedIps: '["203.0.113.0/24",' });
      expect((await from('203.0.113.5', key).expect(403)).body).toEqual(REFUSED);
      expect((await t.service.get(record.id)).allowedIps).toEqual([]);
    });

    it('is validated at issue and update, with a typed error, storing nothing', async () => {
      const before = (await t.service.list({ limit: 1 })).total;
      for (const allowedIps of [['203.0.113.0/33'], ['not-an-ip'], []]) {
        await expect(t.service.issue({ name: 'bad', allowedIps })).rejects.toBeInstanceOf(ApiKeyValidationError);
      }
      expect((await t.service.list({ limit: 1 })).total).toBe(before);
      const { key, record } = await t.service.issue({ name: 'moving', scopes: ['orders:read'] });
      await expect(t.service.update(record.id, { allowedIps: ['10.0.0.0/99'] })).rejects.toBeInstanceOf(
        ApiKeyValidationError,
      );
      await from('198.51.100.1', key).expect(200);
      await t.service.update(record.id, { allowedIps: ['203.0.113.0/24'] });
      await from('198.51.100.1', key).expect(403);
      await t.service.update(record.id, { allowedIps: null });
      await from('198.51.100.1', key).expect(200);
    });
  });

  describe('with no proxy trusted (the default)', () => {
    let t: TestApp;
    const http = () => request(t.app.getHttpServer());

    beforeAll(async () => {
      t = await createTestApp({ controllers: [OrdersController] });
    });
    afterAll(() => t.close());

    it('ignores X-Forwarded-For: the socket address decides', async () => {
      const office = await t.service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.0/24'] });
      const res = await http()
        .get('/orders')
        .set('X-Forwarded-For', '203.0.113.5')
        .set('Authorization', `Bearer ${office.key}`)
        .expect(403);
      expect(res.body).toEqual(REFUSED);
      const local = await t.service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
      await http()
        .get('/orders')
        .set('X-Forwarded-For', '198.51.100.1')
        .set('Authorization', `Bearer ${local.key}`)
        .expect(200);
    });
  });
});
