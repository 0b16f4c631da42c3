import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyValidationError, generateApiKey } from 'nestjs-opaque-keys';
import { createLeakReportController } from 'nestjs-opaque-keys/secret-scanning';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const DAY = 86_400_000;

describe('expiry policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ options: { defaultLifetimeMs: 30 * DAY, maxLifetimeMs: 90 * DAY } });
  });
  afterAll(() => t.close());

  it('gives keys without expiresAt the default lifetime', async () => {
    const before = Date.now();
    const { record } = await t.service.issue({ name: 'default' });
    expect(record.expiresAt!.getTime()).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(record.expiresAt!.getTime()).toBeLessThan(before + 30 * DAY + 5000);
  });

  it('refuses lifetimes beyond the maximum, and writes nothing', async () => {
    const repo = t.dataSource.getRepository('ApiKeyEntity');
    const before = await repo.count();
    await expect(t.service.issue({ name: 'long', expiresAt: new Date(Date.now() + 91 * DAY) })).rejects.toThrow(
      new ApiKeyValidationError(`expiresAt is beyond the maximum lifetime of ${90 * DAY} ms`),
    );
    expect(await repo.count()).toBe(before);
    const ok = await t.service.issue({ name: 'ok', expiresAt: new Date(Date.now() + 89 * DAY) });
    await expect(
      t.service.rotate(ok.record.id, { expiresAt: new Date(Date.now() + 100 * DAY) }),
    ).rejects.toBeInstanceOf(ApiKeyValidationError);
    expect((await t.service.get(ok.record.id)).replacedById).toBeNull();
  });

  it('keeps expired keys until an explicit purge', async () => {
    const { record } = await t.service.issue({ name: 'old' });
    const repo = t.dataSource.getRepository('ApiKeyEntity');
    await repo.update({ id: record.id }, { expiresAt: new Date(Date.now() - 2 * DAY) });
    const revoked = await t.service.issue({ name: 'revoked' });
    await t.service.revoke(revoked.record.id);
    expect(await t.service.get(record.id)).toBeDefined();
    expect(await t.service.purge(new Date(Date.now() - DAY))).toBe(1);
    await expect(t.service.get(record.id)).rejects.toThrow(/not found/);
    expect((await t.service.get(revoked.record.id)).revokedAt).toBeInstanceOf(Date);
    await expect(t.service.purge(new Date(Date.now() + DAY))).rejects.toBeInstanceOf(ApiKeyValidationError);
  });
});

describe('a policy that forbids keys without expiry', () => {
  it('refuses them', async () => {
    const t = await createTestApp({ options: { maxLifetimeMs: DAY } });
    try {
      await expect(t.service.issue({ name: 'forever' })).rejects.toThrow(/keys must expire/);
      await expect(t.service.issue({ name: 'short', expiresAt: new Date(Date.now() + 60_000) })).resolves.toBeDefined();
    } finally {
      await t.close();
    }
  });
});

describe('environments in the prefix', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { environments: ['live', 'test'] } });
  });
  afterAll(() => t.close());

  it('marks keys live or test and hands the environment to the handler', async () => {
    const live = await t.service.issue({ name: 'live', scopes: ['orders:read'] });
    const test = await t.service.issue({ name: 'test', scopes: ['orders:read'], environment: 'test' });
    expect(live.key).toMatch(/^sk_live_[0-9A-Za-z]{49}$/);
    expect(test.key).toMatch(/^sk_test_[0-9A-Za-z]{49}$/);
    expect(test.record.hint).toBe(test.key.slice(0, 12));
    const res = await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', test.key).expect(200);
    expect(res.body.principal.environment).toBe('test');
    const liveRes = await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', live.key).expect(200);
    expect(liveRes.body.principal.environment).toBe('live');
  });

  it('keeps the environment on rotation and rejects other prefixes unread', async () => {
    const test = await t.service.issue({ name: 'rot', environment: 'test' });
    const rotated = await t.service.rotate(test.record.id);
    expect(rotated.key.startsWith('sk_test_')).toBe(true);
    await expect(t.service.issue({ name: 'x', environment: 'prod' })).rejects.toThrow(
      /environment must be one of live, test/,
    );
    const statements = await t.queries.during(() =>
      request(t.app.getHttpServer())
        .get('/orders')
        .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
        .expect(401),
    );
    expect(statements).toHaveLength(0);
  });
});

describe('leaked keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController, createLeakReportController()] });
  });
  afterAll(() => t.close());

  it('revokeByKey revokes a key given in plaintext, once', async () => {
    const { key, record } = await t.service.issue({ name: 'leaky' });
    await expect(t.service.revokeByKey(key)).resolves.toEqual({ status: 'revoked' });
    expect((await t.service.get(record.id)).revokedReason).toBe('leaked');
    await expect(t.service.revokeByKey(key)).resolves.toEqual({ status: 'already_revoked' });
    await expect(t.service.revokeByKey(generateApiKey({ prefix: 'sk' }))).resolves.toEqual({ status: 'unknown' });
    await expect(t.service.revokeByKey('not a key')).resolves.toEqual({ status: 'unknown' });
  });

  it('takes secret-scanning reports over HTTP from a key with keys:leaks', async () => {
    const reporter = await t.service.issue({ name: 'scanner', scopes: ['keys:leaks'] });
    const leaked = await t.service.issue({ name: 'leaked', scopes: ['orders:read'] });
    const http = () => request(t.app.getHttpServer());
    await http().get('/orders').set('X-API-Key', leaked.key).expect(200);
    await http()
      .post('/api-keys/leaks')
      .set('X-API-Key', leaked.key)
      .send([{ token: 'x' }])
      .expect(403);
    const res = await http()
      .post('/api-keys/leaks')
      .set('X-API-Key', reporter.key)
      .send([
        { token: leaked.key, url: 'https://example.test/commit/1' },
        { token: generateApiKey({ prefix: 'sk' }) },
        { token: 'nope' },
      ])
      .expect(200);
    expect(res.body).toEqual({ results: [{ status: 'revoked' }, { status: 'unknown' }, { status: 'unknown' }] });
    expect(JSON.stringify(res.body)).not.toContain(leaked.key);
    await http().get('/orders').set('X-API-Key', leaked.key).expect(401);
    expect((await t.service.get(leaked.record.id)).revokedReason).toBe('reported by secret scanning');
    const [event] = (await t.service.listEvents({ keyId: leaked.record.id })).items;
    expect(event).toMatchObject({ type: 'revoked', actor: `key:${reporter.record.id}` });
  });

  it('answers malformed reports with 400 and revokes nothing', async () => {
    const reporter = await t.service.issue({ name: 'scanner2', scopes: ['keys:leaks'] });
    const live = await t.service.issue({ name: 'live' });
    const http = () => request(t.app.getHttpServer());
    for (const body of [{}, [], [{ url: 'x' }], Array.from({ length: 101 }, () => ({ token: live.key }))]) {
      const res = await http().post('/api-keys/leaks').set('X-API-Key', reporter.key).send(body).expect(400);
      expect(res.body.message).toMatch(/report/);
    }
    expect((await t.service.get(live.record.id)).revokedAt).toBeNull();
  });
});
