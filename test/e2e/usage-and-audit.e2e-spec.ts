import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyStateError, ApiKeyValidationError, ApiKeyVerifier } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('usage limits', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController] });
  });
  afterAll(() => t.close());

  it('a single-use key passes once, then gets the same 401 as any invalid key', async () => {
    const { key, record } = await t.service.issue({ name: 'download link', scopes: ['orders:read'], maxUses: 1 });
    expect(record.remainingUses).toBe(1);
    await http().get('/orders').set('X-API-Key', key).expect(200);
    const res = await http().get('/orders').set('X-API-Key', key).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
    expect((await t.service.get(record.id)).remainingUses).toBe(0);
  });

  it('gives exactly as many passes as uses under 200 concurrent requests', async () => {
    const { key, record } = await t.service.issue({ name: 'burst', scopes: ['orders:read'], maxUses: 50 });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, () =>
        http()
          .get('/orders')
          .set('X-API-Key', key)
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 401)).toHaveLength(150);
    expect((await t.service.get(record.id)).remainingUses).toBe(0);
  });

  it('spends no use on a request refused for its scope', async () => {
    const { key, record } = await t.service.issue({ name: 'scoped', scopes: ['orders:read'], maxUses: 3 });
    await http().post('/orders').set('X-API-Key', key).expect(403);
    await http().post('/orders').set('X-API-Key', key).expect(403);
    expect((await t.service.get(record.id)).remainingUses).toBe(3);
  });

  it('costs one conditional UPDATE on top of the read; unlimited keys cost no write', async () => {
    const limited = await t.service.issue({ name: 'limited', scopes: ['orders:read'], maxUses: 10 });
    const statements = await t.queries.during(() => http().get('/orders').set('X-API-Key', limited.key).expect(200));
    expect(statements).toHaveLength(2);
    expect(statements[1]).toMatch(
      /^UPDATE .*SET .*remainingUses.* = .*remainingUses.* - .* WHERE .*remainingUses.* >= /,
    );
    const unlimited = await t.service.issue({ name: 'unlimited', scopes: ['orders:read'] });
    expect(
      await t.queries.during(() => http().get('/orders').set('X-API-Key', unlimited.key).expect(200)),
    ).toHaveLength(1);
  });

  it('counts uses in verify() too, and validates maxUses', async () => {
    const { key } = await t.service.issue({ name: 'verify', maxUses: 1 });
    expect((await t.service.verify(key)).valid).toBe(true);
    await expect(t.service.verify(key)).resolves.toMatchObject({ valid: false, reason: 'exhausted' });
    for (const bad of [0, -1, 1.5, '3']) {
      await expect(t.service.issue({ name: 'bad', maxUses: bad as never })).rejects.toBeInstanceOf(
        ApiKeyValidationError,
      );
    }
  });
});

describe('audit log', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { auditUseIntervalMs: 200 } });
  });
  afterAll(() => t.close());

  it('records every change with its actor, in the same transaction, without secrets', async () => {
    const { key, record } = await t.service.issue({
      name: 'audited',
      ownerId: 'team-a',
      scopes: ['a'],
      actor: 'alice',
    });
    await t.service.updateScopes(record.id, ['a', 'b'], { actor: 'bob' });
    const rotated = await t.service.rotate(record.id, { actor: 'carol' });
    await t.service.revoke(rotated.record.id, 'done', { actor: 'dave' });
    const old = await t.service.listEvents({ keyId: record.id });
    expect(old.items.map((e) => [e.type, e.actor])).toEqual([
      ['rotated', 'carol'],
      ['scopes_changed', 'bob'],
      ['issued', 'alice'],
    ]);
    expect(old.items[1].details).toEqual({ scopes: ['a', 'b'] });
    expect(old.items[0].details).toEqual({ successorId: rotated.record.id, gracePeriodMs: 0 });
    const byOwner = await t.service.listEvents({ ownerId: 'team-a' });
    expect(byOwner.total).toBe(5);
    expect(byOwner.items[0]).toMatchObject({
      keyId: rotated.record.id,
      type: 'revoked',
      actor: 'dave',
      details: { reason: 'done' },
    });
    const dump = JSON.stringify(
      await t.dataSource.query('SELECT * FROM ' + t.dataSource.driver.escape('api_key_events')),
    );
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(rotated.key);
  });

  it('writes no event for a refused change', async () => {
    const { record } = await t.service.issue({ name: 'twice', ownerId: 'team-b' });
    await t.service.revoke(record.id);
    await expect(t.service.revoke(record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
    await expect(t.service.updateScopes(record.id, ['x'])).rejects.toBeInstanceOf(ApiKeyStateError);
    expect((await t.service.listEvents({ keyId: record.id })).items.map((e) => e.type)).toEqual(['revoked', 'issued']);
  });

  it('records uses of a revoked key at most once per key per interval, off the request path', async () => {
    const quiet = await createTestApp({ controllers: [OrdersController], options: { auditUseIntervalMs: 60_000 } });
    try {
      const audit = quiet.app.get(ApiKeyVerifier).refusedUses;
      const { key, record } = await quiet.service.issue({
        name: 'attacked',
        ownerId: 'team-c',
        scopes: ['orders:read'],
      });
      await quiet.service.revoke(record.id);
      const attack = () =>
        quiet.queries.during(async () => {
          for (let i = 0; i < 30; i++)
            await request(quiet.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(401);
        });
      expect((await attack()).filter((sql) => !sql.startsWith('SELECT'))).toEqual([]);
      const flushed = await quiet.queries.during(() => audit.flush());
      expect(flushed.filter((sql) => sql.startsWith('INSERT'))).toHaveLength(1);
      // Within the same interval, further refused uses write nothing more.
      await attack();
      expect((await quiet.queries.during(() => audit.flush())).filter((sql) => sql.startsWith('INSERT'))).toHaveLength(
        0,
      );
      const uses = (await quiet.service.listEvents({ keyId: record.id })).items.filter((e) => e.type === 'revoked_use');
      expect(uses).toHaveLength(1);
      expect(uses[0]).toMatchObject({ ownerId: 'team-c', actor: 'guard' });
    } finally {
      await quiet.close();
    }
  });

  it('writes refused uses by itself once the interval passes', async () => {
    const { key, record } = await t.service.issue({ name: 'timer', scopes: ['orders:read'] });
    await t.service.revoke(record.id);
    await http().get('/orders').set('X-API-Key', key).expect(401);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const types = (await t.service.listEvents({ keyId: record.id })).items.map((e) => e.type);
    expect(types).toContain('revoked_use');
  });

  it('validates queries', async () => {
    await expect(t.service.listEvents({})).rejects.toBeInstanceOf(ApiKeyValidationError);
    await expect(t.service.listEvents({ keyId: 'x', limit: 0 })).rejects.toBeInstanceOf(ApiKeyValidationError);
  });
});

describe('rotation families', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('links successors into one family', async () => {
    const first = await t.service.issue({ name: 'fam' });
    const second = await t.service.rotateByKey(first.key);
    const third = await t.service.rotateByKey(second.key);
    expect(first.record.familyId).toBe(first.record.id);
    expect(second.record.familyId).toBe(first.record.id);
    expect(third.record.familyId).toBe(first.record.id);
    expect((await t.service.verify(third.key)).valid).toBe(true);
  });

  it('revokes the whole family when a rotated-away key is presented for rotation again', async () => {
    const first = await t.service.issue({ name: 'stolen', ownerId: 'victim' });
    const second = await t.service.rotateByKey(first.key, { gracePeriodMs: 60_000 });
    const third = await t.service.rotateByKey(second.key);
    const reuse = await t.service.rotateByKey(first.key).catch((error: unknown) => error);
    expect(reuse).toBeInstanceOf(ApiKeyStateError);
    expect(reuse).toMatchObject({ name: 'ApiKeyReuseDetectedError', familyId: first.record.id, revokedKeys: 2 });
    for (const key of [first.key, second.key, third.key])
      await expect(t.service.verify(key)).resolves.toMatchObject({ valid: false, reason: 'revoked' });
    const events = await t.service.listEvents({ keyId: first.record.id });
    expect(events.items[0]).toMatchObject({
      type: 'reuse_detected',
      details: { familyId: first.record.id, revokedKeys: 2 },
    });
    expect((await t.service.get(third.record.id)).revokedReason).toBe('reuse_detected');
  });

  it('leaves families alone on operator rotation by id, and rejects keys that are not ours', async () => {
    const first = await t.service.issue({ name: 'ops' });
    const second = await t.service.rotate(first.record.id);
    await expect(t.service.rotate(first.record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
    expect((await t.service.verify(second.key)).valid).toBe(true);
    await expect(t.service.rotateByKey('sk_nope')).rejects.toBeInstanceOf(ApiKeyValidationError);
  });
});
