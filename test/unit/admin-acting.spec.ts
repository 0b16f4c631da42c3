import { describe, expect, it } from '@jest/globals';
import { ApiKeyDelegationError, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
import { actingOptions, keyStatus, parseAdminKeyQuery } from 'nestjs-opaque-keys/admin';

describe('actingOptions (the one place console calls get who acts)', () => {
  const principal = { id: 'k1', scopes: ['keys:admin', 'orders:*'], environment: 'test' } as never as ApiKeyPrincipal;

  it('hands a signed-in admin key to the service as actingAs, with no check of its own (the service decides)', () => {
    const signedIn = { id: 'k1', scopes: principal.scopes, principal };
    expect(actingOptions(signedIn, { scopes: ['*'] })).toEqual({ actor: 'admin:k1', actingAs: principal });
  });

  // Host-guard mode: no key, the scope rule is checked here with the library's uncoveredScopes.
  const admin = { id: 'k1', scopes: ['keys:admin', 'orders:*'] };

  it('names the admin as actor and lets through what the admin holds, wildcards included', () => {
    expect(actingOptions(admin)).toEqual({ actor: 'admin:k1' });
    expect(actingOptions(admin, { scopes: [] })).toEqual({ actor: 'admin:k1' });
    expect(actingOptions(admin, { scopes: ['orders:read', 'orders:refund:create', 'orders:*', 'keys:admin'] })).toEqual(
      { actor: 'admin:k1' },
    );
    expect(actingOptions({ id: 'root', scopes: ['*'] }, { scopes: ['*', 'anything:at:all'] })).toEqual({
      actor: 'admin:root',
    });
  });

  it('refuses, naming them, scopes the admin does not hold: wider wildcards, siblings, prefixes', () => {
    for (const scopes of [
      ['*'],
      ['orders'],
      ['ordersx:read'],
      ['billing:read'],
      ['keys:*'],
      ['orders:read', 'billing'],
    ]) {
      expect(() => actingOptions(admin, { scopes })).toThrow(ApiKeyDelegationError);
    }
    expect(() => actingOptions(admin, { scopes: ['orders:read', 'billing', 'keys:*'] })).toThrow(
      'operator k1 cannot grant "billing", "keys:*": they do not hold them',
    );
  });
});

describe('the console list query and status', () => {
  it('checks the query string and applies defaults', () => {
    expect(parseAdminKeyQuery({})).toEqual({
      q: undefined,
      status: undefined,
      ownerId: undefined,
      sort: 'createdAt',
      order: 'desc',
      limit: 25,
      offset: 0,
    });
    expect(parseAdminKeyQuery({ q: ' Deploy ', sort: 'name', limit: '5' })).toMatchObject({
      q: 'deploy',
      order: 'asc',
      limit: 5,
    });
    for (const bad of [{ status: 'disabledx' }, { sort: 'hash' }, { order: 'up' }, { limit: '0' }, { offset: '-1' }]) {
      expect(() => parseAdminKeyQuery(bad)).toThrow();
    }
  });

  it('computes active, revoked, expired and expiring soon', () => {
    const now = Date.UTC(2026, 0, 1);
    const base = { revokedAt: null, expiresAt: null } as never as Parameters<typeof keyStatus>[0];
    expect(keyStatus(base, now)).toMatchObject({ status: 'active', expiringSoon: false });
    expect(keyStatus({ ...base, revokedAt: new Date(now - 1) }, now).status).toBe('revoked');
    expect(keyStatus({ ...base, disabledAt: new Date(now - 1) } as never, now).status).toBe('disabled');
    expect(parseAdminKeyQuery({ status: 'disabled' }).status).toBe('disabled');
    expect(keyStatus({ ...base, expiresAt: new Date(now) }, now).status).toBe('expired');
    expect(keyStatus({ ...base, expiresAt: new Date(now + 86_400_000) }, now)).toMatchObject({
      status: 'active',
      expiringSoon: true,
    });
    expect(keyStatus({ ...base, expiresAt: new Date(now + 30 * 86_400_000) }, now).expiringSoon).toBe(false);
  });
});
