import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyDelegationError, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
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
    t = await createTestApp({ options: { environments: ['live', 'test'] } });
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
});
