import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  ApiKeyLimitError,
  ApiKeyStateError,
  ApiKeyValidationError,
  ApiKeyVerifier,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const DAY = 86_400_000;

/** Disable / enable, update and the owner-level controls, through the service and real HTTP, on the configured database. */
describe('key controls', () => {
  let t: TestApp;
  let storage: ThrottlerStorageProcess;
  const http = () => request(t.app.getHttpServer());
  const get = (key: string) => http().get('/orders').set('Authorization', `Bearer ${key}`);
  const events = async (keyId: string) => (await t.service.listEvents({ keyId })).items;

  beforeAll(async () => {
    // The real @nestjs/throttler in-memory storage (in a child process: see throttler-storage.ts).
    storage = await ThrottlerStorageProcess.start();
    t = await createTestApp({
      controllers: [OrdersController],
      options: { maxLifetimeMs: 30 * DAY, rateLimitStorage: storage },
    });
  });
  afterAll(async () => {
    await t.close();
    storage.stop();
  });

  describe('disable and enable', () => {
    it('gives a disabled key the 401 of any invalid key, reason "disabled" in logs and events; enable restores it', async () => {
      const { key, record } = await t.service.issue({
        name: 'paused',
        scopes: ['orders:read'],
        expiresAt: new Date(Date.now() + DAY),
      });
      await get(key).expect(200);
      const disabled = await t.service.disable(record.id, 'card declined', { actor: 'billing' });
      expect(disabled).toMatchObject({ disabledReason: 'card declined', revokedAt: null });
      expect(disabled.disabledAt).toBeInstanceOf(Date);

      const refused = await get(key).expect(401);
      const unknown = await get(`${key.slice(0, -8)}AAAAAAAA`).expect(401);
      expect(refused.body).toEqual(unknown.body);
      expect(refused.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
      expect(t.logs.lines.join('\n')).toContain(`rejected API key ${record.id}: disabled`);
      await t.app.get(ApiKeyVerifier).refusedUses.flush();
      expect((await events(record.id)).map((e) => e.type)).toEqual(['disabled_use', 'disabled', 'issued']);
      expect((await events(record.id))[1]).toMatchObject({ actor: 'billing', details: { reason: 'card declined' } });

      const enabled = await t.service.enable(record.id, { actor: 'billing' });
      expect(enabled).toMatchObject({ disabledAt: null, disabledReason: null });
      await get(key).expect(200);
    });

    it('costs a disabled key the one lookup statement and no write', async () => {
      const { key, record } = await t.service.issue({
        name: 'cheap',
        scopes: ['orders:read'],
        expiresAt: new Date(Date.now() + DAY),
      });
      await t.service.disable(record.id);
      expect(await t.queries.during(() => get(key).expect(401))).toHaveLength(1);
    });

    it('refuses to disable a revoked or disabled key, to enable an enabled one, and to rotate a disabled one', async () => {
      const { record } = await t.service.issue({ name: 'states', expiresAt: new Date(Date.now() + DAY) });
      await expect(t.service.enable(record.id)).rejects.toMatchObject({ state: 'enabled' });
      await t.service.disable(record.id);
      await expect(t.service.disable(record.id)).rejects.toMatchObject({ state: 'disabled' });
      await expect(t.service.rotate(record.id)).rejects.toMatchObject({ state: 'disabled' });
      await t.service.revoke(record.id);
      await expect(t.service.disable(record.id)).rejects.toEqual(new ApiKeyStateError(record.id, 'revoked'));
      await expect(t.service.enable(record.id)).rejects.toBeInstanceOf(ApiKeyStateError);
      await expect(t.service.disable('nope')).rejects.toThrow(/not found/);
    });

    it('lists keys by status: active, disabled, revoked, expired', async () => {
      const owner = `status-${Date.now()}`;
      const make = (name: string) =>
        t.service.issue({ name, ownerId: owner, expiresAt: new Date(Date.now() + DAY) }).then((k) => k.record.id);
      const [active, disabled, revoked, expired] = await Promise.all(['a', 'd', 'r', 'e'].map(make));
      await t.service.disable(disabled);
      await t.service.revoke(revoked);
      await t.dataSource
        .getRepository('ApiKeyEntity')
        .update({ id: expired }, { expiresAt: new Date(Date.now() - 1000) });
      const ids = async (status: 'active' | 'disabled' | 'revoked' | 'expired') =>
        (await t.service.list({ ownerId: owner, status })).items.map((item) => item.id);
      expect(await ids('active')).toEqual([active]);
      expect(await ids('disabled')).toEqual([disabled]);
      expect(await ids('revoked')).toEqual([revoked]);
      expect(await ids('expired')).toEqual([expired]);
      expect((await t.service.list({ ownerId: owner, status: 'active' })).total).toBe(1);
      await expect(t.service.list({ status: 'gone' as never })).rejects.toBeInstanceOf(ApiKeyValidationError);
    });
  });

  describe('update', () => {
    it('changes name, metadata, expiry and rate limit in one event naming the fields, never their values', async () => {
      const { key, record } = await t.service.issue({
        name: 'old',
        scopes: ['orders:read'],
        expiresAt: new Date(Date.now() + DAY),
      });
      const expiresAt = new Date(Date.now() + 2 * DAY);
      const statements = await t.queries.during(async () => {
        const updated = await t.service.update(
          record.id,
          { name: 'new', metadata: { plan: 'team' }, expiresAt, rateLimit: { limit: 5, windowMs: 60_000 } },
          { actor: 'admin' },
        );
        expect(updated).toMatchObject({ name: 'new', metadata: { plan: 'team' }, expiresAt, rateLimitMax: 5 });
      });
      expect(statements.filter((sql) => /^\s*UPDATE/i.test(sql))).toHaveLength(1);
      const [event] = await events(record.id);
      expect(event).toMatchObject({
        type: 'updated',
        actor: 'admin',
        details: { fields: ['name', 'metadata', 'expiresAt', 'rateLimit'] },
      });
      expect(JSON.stringify(event.details)).not.toContain('team');
      const seen = (await get(key).expect(200)).body.principal as ApiKeyPrincipal;
      expect(seen).toMatchObject({
        name: 'new',
        metadata: { plan: 'team' },
        rateLimit: { limit: 5, windowMs: 60_000 },
      });
      // Clearing: metadata and the rate limit back to none.
      await t.service.update(record.id, { metadata: null, rateLimit: null });
      expect(await t.service.get(record.id)).toMatchObject({
        metadata: null,
        rateLimitMax: null,
        rateLimitWindowMs: null,
      });
    });

    it('holds expiresAt to the expiry policy, counted from the key creation', async () => {
      const { record } = await t.service.issue({ name: 'policy', expiresAt: new Date(Date.now() + DAY) });
      await expect(t.service.update(record.id, { expiresAt: new Date(Date.now() + 31 * DAY) })).rejects.toThrow(
        /beyond the maximum lifetime/,
      );
      await expect(t.service.update(record.id, { expiresAt: null })).rejects.toThrow(/keys must expire/);
      await expect(t.service.update(record.id, { expiresAt: new Date(Date.now() - 1) })).rejects.toThrow(/future/);
      expect((await t.service.get(record.id)).expiresAt).toEqual(record.expiresAt);
    });

    it("sets credits in the same audited change, on the family's newest key, seen on the next request", async () => {
      const expiresAt = new Date(Date.now() + DAY);
      const { key, record } = await t.service.issue({ name: 'metered', scopes: ['orders:read'], expiresAt });
      await get(key).expect(200);
      const updated = await t.service.update(record.id, { name: 'metered v2', credits: { remaining: 1 } });
      expect(updated).toMatchObject({ name: 'metered v2', remainingUses: 1 });
      await get(key).expect(200);
      await get(key).expect(401); // the one credit is spent
      const [latest] = await events(record.id);
      expect(latest).toMatchObject({ type: 'updated', details: { fields: ['name', 'credits'] } });
      // Credits alone, back to unlimited.
      expect(await t.service.update(record.id, { credits: null })).toMatchObject({ remainingUses: null });
      await get(key).expect(200);
    });

    it('refuses empty patches, unknown fields, bad credits and revoked keys, changing nothing', async () => {
      const { record } = await t.service.issue({ name: 'strict', expiresAt: new Date(Date.now() + DAY) });
      for (const patch of [{}, { scopes: ['*'] }, { hash: 'x' }, { credits: { remaining: -5 } }, { name: '' }]) {
        await expect(t.service.update(record.id, patch as never)).rejects.toBeInstanceOf(ApiKeyValidationError);
      }
      expect((await events(record.id)).map((e) => e.type)).toEqual(['issued']);
      await t.service.revoke(record.id);
      await expect(t.service.update(record.id, { name: 'late' })).rejects.toEqual(
        new ApiKeyStateError(record.id, 'revoked'),
      );
    });
  });

  describe('revokeAllForOwner', () => {
    it("revokes every live key of the owner in one UPDATE, with an event each, seen on the next request; other owners' keys keep working", async () => {
      const expiresAt = new Date(Date.now() + DAY);
      const mine = await Promise.all(
        [1, 2, 3].map((n) =>
          t.service.issue({ name: `k${n}`, ownerId: 'offboarded', scopes: ['orders:read'], expiresAt }),
        ),
      );
      const already = await t.service.issue({ name: 'gone', ownerId: 'offboarded', expiresAt });
      await t.service.revoke(already.record.id, 'earlier');
      const other = await t.service.issue({ name: 'other', ownerId: 'staying', scopes: ['orders:read'], expiresAt });
      await get(mine[0].key).expect(200);

      let revoked = 0;
      const statements = await t.queries.during(async () => {
        revoked = await t.service.revokeAllForOwner('offboarded', 'account closed', { actor: 'support' });
      });
      expect(revoked).toBe(3);
      expect(statements.filter((sql) => /^\s*UPDATE/i.test(sql))).toHaveLength(1);
      for (const { key, record } of mine) {
        await get(key).expect(401);
        expect(await t.service.get(record.id)).toMatchObject({ revokedReason: 'account closed' });
        expect((await events(record.id))[0]).toMatchObject({ type: 'revoked', actor: 'support' });
      }
      expect((await t.service.get(already.record.id)).revokedReason).toBe('earlier');
      await get(other.key).expect(200);
      expect(await t.service.revokeAllForOwner('offboarded', 'again')).toBe(0);
      await expect(t.service.revokeAllForOwner(null as never, 'x')).rejects.toBeInstanceOf(ApiKeyValidationError);
    });
  });
});

describe('maxKeysPerOwner', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ options: { maxKeysPerOwner: 5 } });
  });
  afterAll(() => t.close());

  it('of 20 concurrent issues for one owner at limit 5, exactly 5 succeed; the rest get ApiKeyLimitError', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => t.service.issue({ name: `race ${i}`, ownerId: 'racer' })),
    );
    const fulfilled = results.filter((result) => result.status === 'fulfilled');
    const rejected = results.filter((result) => result.status === 'rejected') as PromiseRejectedResult[];
    expect(fulfilled).toHaveLength(5);
    expect(rejected.every((result) => result.reason instanceof ApiKeyLimitError)).toBe(true);
    expect((await t.service.list({ ownerId: 'racer' })).total).toBe(5);
  });

  it('counts live keys only: a revoked or expired key frees a place; other owners and ownerless keys are apart', async () => {
    const keys = await Promise.all([1, 2, 3, 4, 5].map((n) => t.service.issue({ name: `k${n}`, ownerId: 'counted' })));
    await expect(t.service.issue({ name: 'sixth', ownerId: 'counted' })).rejects.toThrow(
      new ApiKeyLimitError('counted', 5),
    );
    await t.service.revoke(keys[0].record.id);
    await t.dataSource
      .getRepository('ApiKeyEntity')
      .update({ id: keys[1].record.id }, { expiresAt: new Date(Date.now() - 1000) });
    await t.service.issue({ name: 'sixth', ownerId: 'counted' });
    await t.service.issue({ name: 'seventh', ownerId: 'counted' });
    await expect(t.service.issue({ name: 'eighth', ownerId: 'counted' })).rejects.toBeInstanceOf(ApiKeyLimitError);
    await t.service.issue({ name: 'elsewhere', ownerId: 'someone else' });
    for (let i = 0; i < 6; i++) await t.service.issue({ name: `no owner ${i}` });
  });

  it('refuses a bad option at boot', async () => {
    // What the module's options factory runs at boot (no app: a half-booted one would leave its DataSource behind).
    expect(() => new ResolvedApiKeyOptions({ maxKeysPerOwner: 0 })).toThrow(
      /maxKeysPerOwner must be a positive integer/,
    );
  });
});

describe('key controls with the lookup cache on', () => {
  let t: TestApp;
  const get = (key: string) => request(t.app.getHttpServer()).get('/orders').set('Authorization', `Bearer ${key}`);
  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { cache: { ttlMs: 60_000 } } });
  });
  afterAll(() => t.close());

  it('sees disable, enable, update and revokeAllForOwner on the very next request, with no lookup for a cached row', async () => {
    const { key, record } = await t.service.issue({ name: 'cached', ownerId: 'c', scopes: ['orders:read'] });
    await get(key).expect(200);
    expect(await t.queries.during(() => get(key).expect(200))).toHaveLength(0); // served from the cache
    await t.service.disable(record.id);
    await get(key).expect(401);
    await t.service.enable(record.id);
    await get(key).expect(200);
    await t.service.update(record.id, { allowedIps: ['203.0.113.0/24'] });
    await get(key).expect(403);
    await t.service.update(record.id, { allowedIps: null });
    await get(key).expect(200);
    await t.service.revokeAllForOwner('c', 'closed');
    await get(key).expect(401);
  });
});

describe('delegation on enable and update', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ options: { environments: ['live', 'test'] } });
  });
  afterAll(() => t.close());

  async function principal(scopes: string[], expiresAt?: Date): Promise<ApiKeyPrincipal> {
    const verdict = await t.service.verify((await t.service.issue({ name: 'actor', scopes, expiresAt })).key);
    if (!verdict.valid) throw new Error('expected a valid key');
    return verdict.principal;
  }

  it('lets only an actor that could issue a key enable or edit it, and holds a new expiry to its own', async () => {
    const wide = await t.service.issue({ name: 'wide', scopes: ['*'] });
    await t.service.disable(wide.record.id);
    const limited = await principal(['keys:admin', 'orders:*'], new Date(Date.now() + DAY));
    await expect(t.service.enable(wide.record.id, { actingAs: limited })).rejects.toMatchObject({ reason: 'scope' });
    await expect(t.service.update(wide.record.id, { name: 'x' }, { actingAs: limited })).rejects.toMatchObject({
      reason: 'scope',
    });
    // Disabling only takes away: the environment is enough.
    const narrow = await t.service.issue({
      name: 'narrow',
      scopes: ['orders:read'],
      expiresAt: new Date(Date.now() + DAY / 2),
    });
    await expect(t.service.disable(narrow.record.id, 'x', { actingAs: limited })).resolves.toBeDefined();
    await expect(t.service.enable(narrow.record.id, { actingAs: limited })).resolves.toBeDefined();
    await expect(
      t.service.update(narrow.record.id, { expiresAt: new Date(Date.now() + 2 * DAY) }, { actingAs: limited }),
    ).rejects.toMatchObject({ reason: 'lifetime' });
    await expect(t.service.update(narrow.record.id, { name: 'renamed' }, { actingAs: limited })).resolves.toMatchObject(
      {
        name: 'renamed',
      },
    );
    expect((await t.service.get(wide.record.id)).disabledAt).toBeInstanceOf(Date);
  });
});
