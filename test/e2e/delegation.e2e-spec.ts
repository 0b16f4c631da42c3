import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyDelegationError, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
import { ApiKeyUsageReader, withUsage } from 'nestjs-opaque-keys/usage';
import { createTestApp, type TestApp } from '../support/test-app.js';

const DAY = 86_400_000;

/** Delegation through the service, on the configured database: `actingAs` holds every change to the actor. */
describe('delegation (actingAs)', () => {
  let t: TestApp;

  /** Issues a key and returns it as the guard would see it. */
  async function principal(input: Parameters<TestApp['service']['issue']>[0]): Promise<ApiKeyPrincipal> {
    const { key } = await t.service.issue(input);
    const verdict = await t.service.verify(key);
    if (!verdict.valid) throw new Error('expected a valid key');
    return verdict.principal;
  }

  async function keyCount(): Promise<number> {
    return (await t.service.list({ limit: 1 })).total;
  }

  beforeAll(async () => {
    t = await createTestApp({ options: { environments: ['live', 'test'] }, extras: { features: [withUsage()] } });
  });
  afterAll(() => t.close());

  it('issues only scopes the actor holds, wildcards respected', async () => {
    const admin = await principal({ name: 'admin', scopes: ['keys:admin', 'orders:*'] });
    const ok = await t.service.issue({ name: 'ok', scopes: ['orders:read', 'orders:refund:*'], actingAs: admin });
    expect(ok.record.scopes).toEqual(['orders:read', 'orders:refund:*']);
    const before = await keyCount();
    for (const scopes of [['*'], ['billing:read'], ['orders:read', 'keys:*']]) {
      await expect(t.service.issue({ name: 'wide', scopes, actingAs: admin })).rejects.toBeInstanceOf(
        ApiKeyDelegationError,
      );
    }
    expect(await keyCount()).toBe(before);
    // Without actingAs the call is trusted (server code).
    await expect(t.service.issue({ name: 'root', scopes: ['*'] })).resolves.toBeDefined();
  });

  it('lets a test key manage test keys only', async () => {
    const testAdmin = await principal({ name: 'test admin', scopes: ['keys:admin', 'orders:*'], environment: 'test' });
    const liveKey = await t.service.issue({ name: 'live', scopes: ['orders:read'] });
    const testKey = await t.service.issue({ name: 'test', scopes: ['orders:read'], environment: 'test' });
    const refused = { reason: 'environment' };
    await expect(
      t.service.issue({ name: 'x', scopes: ['orders:read'], environment: 'live', actingAs: testAdmin }),
    ).rejects.toMatchObject(refused);
    await expect(t.service.revoke(liveKey.record.id, 'x', { actingAs: testAdmin })).rejects.toMatchObject(refused);
    await expect(t.service.rotate(liveKey.record.id, { actingAs: testAdmin })).rejects.toMatchObject(refused);
    await expect(
      t.service.updateScopes(liveKey.record.id, ['orders:read'], { actingAs: testAdmin }),
    ).rejects.toMatchObject(refused);
    const live = await t.service.get(liveKey.record.id);
    expect(live).toMatchObject({ revokedAt: null, replacedById: null });
    // Its own environment is fine; a live admin manages both.
    const issued = await t.service.issue({ name: 'y', scopes: [], environment: 'test', actingAs: testAdmin });
    expect(issued.key.startsWith('sk_test_')).toBe(true);
    await expect(t.service.rotate(testKey.record.id, { actingAs: testAdmin })).resolves.toBeDefined();
    const liveAdmin = await principal({ name: 'live admin', scopes: ['keys:admin', 'orders:*'] });
    await expect(t.service.revoke(issued.record.id, 'done', { actingAs: liveAdmin })).resolves.toBeDefined();
  });

  it('refuses self-widening: scopes beyond its own, and rotation of a key wider than the actor', async () => {
    const self = await principal({ name: 'self', scopes: ['keys:admin', 'orders:read'] });
    await expect(t.service.updateScopes(self.id, ['keys:admin', 'orders:*'], { actingAs: self })).rejects.toMatchObject(
      { reason: 'scope' },
    );
    expect((await t.service.get(self.id)).scopes).toEqual(['keys:admin', 'orders:read']);
    // Narrowing is fine.
    await expect(t.service.updateScopes(self.id, ['keys:admin'], { actingAs: self })).resolves.toMatchObject({
      scopes: ['keys:admin'],
    });
    const wide = await t.service.issue({ name: 'wide', scopes: ['*'] });
    await expect(t.service.rotate(wide.record.id, { actingAs: self })).rejects.toMatchObject({ reason: 'scope' });
    expect((await t.service.get(wide.record.id)).replacedById).toBeNull();
  });

  it("gives no key a longer life than the actor's: explicit ones refused, defaults held to it", async () => {
    const expiresAt = new Date(Date.now() + DAY);
    const actor = await principal({ name: 'short-lived', scopes: ['orders:*'], expiresAt });
    await expect(
      t.service.issue({ name: 'long', scopes: [], expiresAt: new Date(Date.now() + 2 * DAY), actingAs: actor }),
    ).rejects.toMatchObject({ reason: 'lifetime' });
    await expect(
      t.service.issue({ name: 'never', scopes: [], expiresAt: null, actingAs: actor }),
    ).rejects.toMatchObject({ reason: 'lifetime' });
    const defaulted = await t.service.issue({ name: 'defaulted', scopes: [], actingAs: actor });
    expect(defaulted.record.expiresAt?.getTime()).toBe(expiresAt.getTime());
    // A rotated successor is held to the actor too.
    const forever = await t.service.issue({ name: 'forever', scopes: ['orders:read'] });
    const rotated = await t.service.rotate(forever.record.id, { actingAs: actor });
    expect(rotated.record.expiresAt?.getTime()).toBe(expiresAt.getTime());
    await expect(
      t.service.rotate(rotated.record.id, { expiresAt: new Date(Date.now() + 3 * DAY), actingAs: actor }),
    ).rejects.toMatchObject({ reason: 'lifetime' });
  });

  it('holds every rule about itself to its whole rotation family: credits, limits, expiry, scopes, enabling', async () => {
    const first = await t.service.issue({
      name: 'family admin',
      scopes: ['keys:admin', 'orders:*'],
      credits: { remaining: 10 },
      rateLimit: { limit: 5, windowMs: 60_000 },
    });
    const next = await t.service.rotate(first.record.id, { gracePeriodMs: 5 * 60_000 });
    const verdicts = await Promise.all([t.service.verify(first.key), t.service.verify(next.key)]);
    const [old, successor] = verdicts.map((verdict) => (verdict.valid ? verdict.principal : undefined!));
    const self = { reason: 'self' };
    const later = new Date(Date.now() + 30 * DAY);
    for (const attempt of [
      () => t.service.setCredits(first.record.id, 1_000_000, { actingAs: successor }),
      () => t.service.addCredits(next.record.id, 1_000, { actingAs: old }),
      () => t.service.update(next.record.id, { credits: { remaining: 1_000_000 } }, { actingAs: old }),
      () => t.service.update(next.record.id, { rateLimit: null, allowedIps: null }, { actingAs: old }),
      () => t.service.update(first.record.id, { expiresAt: later }, { actingAs: successor }),
    ]) {
      await expect(attempt()).rejects.toMatchObject(self);
    }
    await t.service.updateScopes(first.record.id, ['keys:admin']);
    await expect(
      t.service.updateScopes(first.record.id, ['keys:admin', 'orders:*'], { actingAs: successor }),
    ).rejects.toMatchObject(self);
    await t.service.disable(first.record.id, 'leaked');
    await expect(t.service.enable(first.record.id, { actingAs: successor })).rejects.toMatchObject(self);
    expect(await t.service.get(next.record.id)).toMatchObject({ remainingUses: 8, rateLimitMax: 5 });
    expect(await t.service.get(first.record.id)).toMatchObject({ scopes: ['keys:admin'], disabledReason: 'leaked' });
    // Another key may: the family's balance is changed through any of its ids.
    const billing = await principal({ name: 'billing', scopes: ['keys:admin', 'orders:*'] });
    await expect(t.service.setCredits(first.record.id, 50, { actingAs: billing })).resolves.toMatchObject({
      id: next.record.id,
      remainingUses: 50,
    });
  });

  it("bounds a key with an owner to its owner's keys, on every read and change; keys:any-owner reaches all", async () => {
    const tenant = await principal({ name: 'tenant admin', ownerId: 'tenant-a', scopes: ['keys:admin', 'orders:*'] });
    const acme = await t.service.issue({
      name: 'acme',
      ownerId: 'acme',
      scopes: ['orders:read'],
      credits: { remaining: 1 },
    });
    await t.service.disable(acme.record.id);
    const id = acme.record.id;
    const actingAs = tenant;
    for (const attempt of [
      () => t.service.issue({ name: 'x', ownerId: 'acme', scopes: [], actingAs }),
      () => t.service.issue({ name: 'x', ownerId: null, scopes: [], actingAs }),
      () => t.service.get(id, { actingAs }),
      () => t.service.list({ ownerId: 'acme' }, { actingAs }),
      () => t.service.listExpiring({ within: DAY, ownerId: 'acme' }, { actingAs }),
      () => t.service.listEvents({ keyId: id }, { actingAs }),
      () => t.service.listEvents({ ownerId: 'acme' }, { actingAs }),
      () =>
        t.app
          .get(ApiKeyUsageReader)
          .series({ keyId: id, from: new Date(Date.now() - DAY), to: new Date() }, { actingAs }),
      () =>
        t.app
          .get(ApiKeyUsageReader)
          .series({ ownerId: 'acme', from: new Date(Date.now() - DAY), to: new Date() }, { actingAs }),
      () => t.service.revoke(id, 'x', { actingAs }),
      () => t.service.disable(id, 'x', { actingAs }),
      () => t.service.enable(id, { actingAs }),
      () => t.service.update(id, { name: 'x' }, { actingAs }),
      () => t.service.updateScopes(id, [], { actingAs }),
      () => t.service.rotate(id, { actingAs }),
      () => t.service.addCredits(id, 1, { actingAs }),
      () => t.service.setCredits(id, 9, { actingAs }),
      () => t.service.revokeAllForOwner('acme', 'x', { actingAs }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ name: 'ApiKeyDelegationError', reason: 'owner' });
    }
    expect(await t.service.get(id)).toMatchObject({ name: 'acme', revokedAt: null, remainingUses: 1 });
    // Its own owner's keys: issued by default, listed alone.
    const own = await t.service.issue({ name: 'own', scopes: ['orders:read'], actingAs });
    expect(own.record.ownerId).toBe('tenant-a');
    const owners = async (items: { ownerId: string | null }[]) => [...new Set(items.map((item) => item.ownerId))];
    expect(await owners((await t.service.list({}, { actingAs })).items)).toEqual(['tenant-a']);
    expect(await owners((await t.service.listEvents({}, { actingAs })).items)).toEqual(['tenant-a']);
    await expect(t.service.update(own.record.id, { name: 'mine' }, { actingAs })).resolves.toMatchObject({
      name: 'mine',
    });
    // keys:any-owner (or a wildcard covering it) reaches every owner.
    const operator = await principal({
      name: 'operator',
      ownerId: 'tenant-a',
      scopes: ['keys:admin', 'keys:any-owner', 'orders:*'],
    });
    await expect(t.service.get(id, { actingAs: operator })).resolves.toMatchObject({ ownerId: 'acme' });
    const forAcme = await t.service.issue({ name: 'y', ownerId: 'acme', scopes: [], actingAs: operator });
    expect(forAcme.record.ownerId).toBe('acme');
  });

  it('bounds what a test key reads to test keys: get, list, expiring, events and usage', async () => {
    const testAdmin = await principal({ name: 'test reader', scopes: ['keys:admin'], environment: 'test' });
    const live = await t.service.issue({ name: 'live', ownerId: 'acme', expiresAt: new Date(Date.now() + DAY / 2) });
    const sandbox = await t.service.issue({
      name: 'sandbox',
      ownerId: 'acme',
      environment: 'test',
      expiresAt: new Date(Date.now() + DAY / 2),
    });
    const actingAs = testAdmin;
    for (const attempt of [
      () => t.service.get(live.record.id, { actingAs }),
      () => t.service.listEvents({ keyId: live.record.id }, { actingAs }),
      () => t.service.listEvents({ ownerId: 'acme' }, { actingAs }),
      () =>
        t.app
          .get(ApiKeyUsageReader)
          .series({ keyId: live.record.id, from: new Date(Date.now() - DAY), to: new Date() }, { actingAs }),
      () => t.service.revokeAllForOwner('acme', 'x', { actingAs }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ name: 'ApiKeyDelegationError', reason: 'environment' });
    }
    const hints = (items: { hint: string }[]) => [...new Set(items.map((item) => item.hint.split('_')[1]))];
    const page = await t.service.list({ limit: 100 }, { actingAs });
    expect(hints(page.items)).toEqual(['test']);
    expect(page.total).toBe(page.items.length);
    expect(page.items.map((item) => item.id)).toContain(sandbox.record.id);
    const expiring = await t.service.listExpiring({ within: DAY, ownerId: 'acme' }, { actingAs });
    expect(expiring.map((item) => item.id)).toEqual([sandbox.record.id]);
    await expect(t.service.get(sandbox.record.id, { actingAs })).resolves.toMatchObject({ name: 'sandbox' });
    await expect(t.service.listEvents({ keyId: sandbox.record.id }, { actingAs })).resolves.toMatchObject({ total: 1 });
    // Without actingAs (server code) every key is read.
    expect((await t.service.listExpiring({ within: DAY, ownerId: 'acme' })).length).toBe(2);
  });
});
