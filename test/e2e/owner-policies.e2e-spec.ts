import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ApiKeyVerifier, type ApiKeyPrincipal, type IssueApiKeyInput } from 'nestjs-opaque-keys';
import { ApiKeyOwnerPolicies, withOwnerPolicies, type OwnerPolicyRule } from 'nestjs-opaque-keys/owner-policies';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const DAY = 86_400_000;

/** Owner policies through the service and real HTTP, on the configured database. */
describe('owner policies', () => {
  let t: TestApp;
  let policies: ApiKeyOwnerPolicies;
  const get = (key: string) => request(t.app.getHttpServer()).get('/orders').set('Authorization', `Bearer ${key}`);
  const soon = (days: number) => new Date(Date.now() + days * DAY);
  const keyCount = async () => (await t.service.list({ limit: 1 })).total;
  const events = async (keyId: string) => (await t.service.listEvents({ keyId })).items;
  const refusedFor = (rule: OwnerPolicyRule) => ({ code: 'ERR_API_KEY_OWNER_POLICY', rule });

  async function principal(input: IssueApiKeyInput): Promise<ApiKeyPrincipal> {
    const { key } = await t.service.issue(input);
    const verdict = await t.service.verify(key);
    if (!verdict.valid) throw new Error('expected a valid key');
    return verdict.principal;
  }

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { environments: ['live', 'test'], lastUsedIntervalMs: 0 },
      extras: { features: [withOwnerPolicies()] },
    });
    policies = t.app.get(ApiKeyOwnerPolicies);
  });
  afterAll(() => t.close());

  describe('when keys are written', () => {
    const owner = 'acme';
    const compliant = (): IssueApiKeyInput => ({
      name: 'ok',
      ownerId: owner,
      scopes: ['orders:read'],
      expiresAt: soon(10),
      environment: 'test',
      allowedIps: ['127.0.0.1'],
    });

    beforeAll(async () => {
      await policies.set(
        owner,
        {
          scopes: ['orders:*'],
          requireExpiry: true,
          maxLifetimeMs: 30 * DAY,
          environments: ['test'],
          allowedIps: ['127.0.0.0/8', '::1/128'],
        },
        { actor: 'ops' },
      );
    });

    it('refuses an issue that breaks each rule, with its code and rule, and writes nothing', async () => {
      const before = await keyCount();
      const cases: [OwnerPolicyRule, Partial<IssueApiKeyInput>][] = [
        ['scopes', { scopes: ['orders:read', 'billing:read'] }],
        ['expiry', { expiresAt: null }],
        ['lifetime', { expiresAt: soon(31) }],
        ['environment', { environment: 'live' }],
        ['addresses', { allowedIps: ['10.0.0.1'] }],
        ['addresses', { allowedIps: ['127.0.0.0/7'] }],
        ['addresses', { allowedIps: undefined }],
      ];
      for (const [rule, change] of cases) {
        const refused = t.service.issue({ ...compliant(), ...change });
        await expect(refused).rejects.toMatchObject(refusedFor(rule));
        await expect(refused).rejects.toThrow(`rule ${rule}`);
      }
      expect(await keyCount()).toBe(before);
      const { key } = await t.service.issue(compliant());
      await get(key).expect(200);
    });

    it('refuses an update, a scope change and a rotation that would break it; the key stays as it was', async () => {
      const { key, record } = await t.service.issue(compliant());
      await expect(t.service.update(record.id, { expiresAt: null })).rejects.toMatchObject(refusedFor('expiry'));
      await expect(t.service.update(record.id, { expiresAt: soon(40) })).rejects.toMatchObject(refusedFor('lifetime'));
      await expect(t.service.update(record.id, { allowedIps: null })).rejects.toMatchObject(refusedFor('addresses'));
      await expect(t.service.updateScopes(record.id, ['*'])).rejects.toMatchObject(refusedFor('scopes'));
      await expect(t.service.rotate(record.id, { expiresAt: soon(45) })).rejects.toMatchObject(refusedFor('lifetime'));
      expect(await t.service.get(record.id)).toMatchObject({ scopes: ['orders:read'], replacedById: null });
      await get(key).expect(200);
      // Within the policy, each passes.
      await t.service.update(record.id, { expiresAt: soon(20) });
      await t.service.updateScopes(record.id, ['orders:read', 'orders:write']);
      const rotated = await t.service.rotate(record.id, { expiresAt: soon(5) });
      await get(rotated.key).expect(200);
    });

    it('refuses to enable by hand a key a policy disabled while it still breaks the policy', async () => {
      const { record } = await t.service.issue({ ...compliant(), ownerId: 'acme-2' });
      await policies.set('acme-2', { environments: ['live'] });
      expect(await t.service.get(record.id)).toMatchObject({ disabledReason: 'policy:environment' });
      await expect(t.service.enable(record.id)).rejects.toMatchObject(refusedFor('environment'));
    });
  });

  describe('live, on existing keys', () => {
    it('refuses a key that breaks a tightened policy on its very next request, 401 like any invalid key; relaxing restores it', async () => {
      const wide = await t.service.issue({ name: 'wide', ownerId: 'beta', scopes: ['orders:*'] });
      const narrow = await t.service.issue({ name: 'narrow', ownerId: 'beta', scopes: ['orders:read'] });
      await get(wide.key).expect(200);
      await get(narrow.key).expect(200);

      const tightened = await policies.set('beta', { scopes: ['orders:read'] }, { actor: 'ops' });
      expect(tightened).toMatchObject({
        disabled: [wide.record.id],
        enabled: [],
        rules: { [wide.record.id]: 'scopes' },
      });
      const refused = await get(wide.key).expect(401);
      const unknown = await get(`${wide.key.slice(0, -8)}AAAAAAAA`).expect(401);
      expect(refused.body).toEqual(unknown.body);
      expect(refused.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
      await get(narrow.key).expect(200);
      expect(t.logs.lines.join('\n')).toContain(
        `API key ${wide.record.id} disabled: it breaks the policy of beta (scopes)`,
      );
      const [disabled] = await events(wide.record.id);
      expect(disabled).toMatchObject({
        type: 'disabled',
        actor: 'ops',
        details: { reason: 'policy:scopes', policyOwner: 'beta' },
      });

      const relaxed = await policies.set('beta', { scopes: ['orders:*'] }, { actor: 'ops' });
      expect(relaxed).toMatchObject({ disabled: [], enabled: [wide.record.id] });
      await get(wide.key).expect(200);
      expect((await events(wide.record.id))[0]).toMatchObject({
        type: 'enabled',
        details: { reason: 'policy relaxed' },
      });
      expect(await t.service.get(wide.record.id)).toMatchObject({ disabledAt: null, disabledReason: null });
    });

    it('never enables a key an admin disabled by hand, nor changes its reason', async () => {
      const byHand = await t.service.issue({ name: 'by hand', ownerId: 'gamma', scopes: ['orders:*'] });
      const byPolicy = await t.service.issue({ name: 'by policy', ownerId: 'gamma', scopes: ['orders:*'] });
      await t.service.disable(byHand.record.id, 'suspicious traffic');
      await policies.set('gamma', { scopes: ['orders:read'] });
      expect(await t.service.get(byHand.record.id)).toMatchObject({ disabledReason: 'suspicious traffic' });
      expect(await t.service.get(byPolicy.record.id)).toMatchObject({ disabledReason: 'policy:scopes' });
      const removed = await policies.remove('gamma');
      expect(removed).toMatchObject({ policy: null, enabled: [byPolicy.record.id] });
      await get(byHand.key).expect(401);
      await get(byPolicy.key).expect(200);
    });

    it('applies the default policy to keys of owners without one, and to keys without an owner', async () => {
      const ownerless = await t.service.issue({ name: 'no owner', scopes: ['orders:read'] });
      const other = await t.service.issue({ name: 'delta', ownerId: 'delta', scopes: ['orders:read'] });
      const own = await t.service.issue({ name: 'epsilon', ownerId: 'epsilon', scopes: ['orders:read'] });
      await policies.set('epsilon', {});
      await policies.set('*', { requireExpiry: true });
      await get(ownerless.key).expect(401);
      await get(other.key).expect(401);
      await get(own.key).expect(200); // its owner's own (empty) policy applies, not the default
      await expect(t.service.issue({ name: 'x', ownerId: 'delta', scopes: [] })).rejects.toMatchObject({
        rule: 'expiry',
        policyOwner: '*',
      });
      await policies.remove('*');
      await get(ownerless.key).expect(200);
      await get(other.key).expect(200);
    });

    it('keeps a verified request, and a refused one, at one statement with the feature on', async () => {
      const ok = await t.service.issue({ name: 'count', ownerId: 'zeta', scopes: ['orders:*'] });
      const bad = await t.service.issue({ name: 'count bad', ownerId: 'zeta', scopes: ['orders:*', 'billing'] });
      await policies.set('zeta', { scopes: ['orders:*'] });
      await get(ok.key).expect(200);
      await t.app.get(ApiKeyVerifier).refusedUses.flush();
      expect(await t.queries.during(() => get(ok.key).expect(200))).toHaveLength(1);
      expect(await t.queries.during(() => get(bad.key).expect(401))).toHaveLength(1);
    });
  });

  describe('who may edit', () => {
    it('refuses an admin key bound to an owner its own owner policy (403); an any-owner admin may', async () => {
      const bound = await principal({ name: 'bound admin', ownerId: 'theta', scopes: ['keys:admin', 'orders:*'] });
      const anyOwner = await principal({ name: 'any', ownerId: 'ops', scopes: ['keys:admin', 'keys:any-owner'] });
      for (const owner of ['theta', 'other', '*'])
        await expect(policies.set(owner, { requireExpiry: true }, { actingAs: bound })).rejects.toMatchObject({
          code: 'ERR_API_KEY_DELEGATION_OWNER',
        });
      await expect(policies.remove('theta', { actingAs: bound })).rejects.toMatchObject({
        code: 'ERR_API_KEY_DELEGATION_OWNER',
      });
      expect(await policies.get('theta')).toBeNull();
      await policies.set('theta', { maxLifetimeMs: 90 * DAY }, { actingAs: anyOwner, actor: 'admin:any' });
      // The bound admin reads its own owner's policy and the default, not others'.
      expect(await policies.get('theta', { actingAs: bound })).toMatchObject({ policy: { maxLifetimeMs: 90 * DAY } });
      await expect(policies.get('beta', { actingAs: bound })).rejects.toMatchObject({
        code: 'ERR_API_KEY_DELEGATION_OWNER',
      });
      expect((await policies.list({ actingAs: bound })).map((p) => p.ownerId)).toEqual(['theta']);
    });

    it('refuses a bad policy with a validation error naming the field', async () => {
      await expect(policies.set('x', { maxLifetimeMs: -1 })).rejects.toMatchObject({ code: 'ERR_API_KEY_VALIDATION' });
      await expect(policies.set('x', { environments: ['staging'] })).rejects.toThrow('unknown environment "staging"');
      await expect(policies.set('x', { allowedIps: ['nope'] })).rejects.toThrow('invalid allowedIps entry');
      await expect(policies.set('x', { colour: 'red' } as never)).rejects.toThrow('unknown owner policy field');
    });
  });
});

/** With the lookup cache on: the policy change drops the cached rows of the keys it disabled. */
describe('owner policies with the lookup cache', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { cache: { ttlMs: 60_000 } },
      extras: { features: [withOwnerPolicies()] },
    });
  });
  afterAll(() => t.close());
  const get = (key: string) => request(t.app.getHttpServer()).get('/orders').set('Authorization', `Bearer ${key}`);

  it('refuses a cached key on its very next request after the policy tightened, and answers it from memory again once relaxed', async () => {
    const policies = t.app.get(ApiKeyOwnerPolicies);
    const wide = await t.service.issue({ name: 'wide', ownerId: 'cached', scopes: ['orders:*'] });
    const narrow = await t.service.issue({ name: 'narrow', ownerId: 'cached', scopes: ['orders:read'] });
    await get(wide.key).expect(200);
    await get(narrow.key).expect(200);
    expect(await t.queries.during(() => get(wide.key).expect(200))).toHaveLength(0); // cached
    await policies.set('cached', { scopes: ['orders:read'] });
    await get(wide.key).expect(401);
    expect(await t.queries.during(() => get(narrow.key).expect(200))).toHaveLength(0); // not dropped
    await policies.remove('cached');
    await get(wide.key).expect(200);
  });
});
