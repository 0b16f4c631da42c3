import { describe, expect, it } from '@jest/globals';
import { ApiKeyDelegationError } from 'nestjs-opaque-keys';
import {
  ANY_OWNER_SCOPE,
  assertMayChange,
  assertMayGrant,
  assertMayManage,
  assertMayRevokeAll,
  defaultExpiryWithin,
  defaultOwnerWithin,
  isOwnFamily,
  managesEnvironment,
  reachesOwner,
  readBounds,
  uncoveredScopes,
  type DelegatingKey,
  type ManagedKey,
} from '../../lib/policies/index.js';

const policy = { environments: ['live', 'test'] };
const inAnHour = new Date(Date.now() + 3_600_000);
const actor = (overrides: Partial<DelegatingKey> = {}): DelegatingKey => ({
  id: 'actor',
  familyId: 'family',
  ownerId: null,
  scopes: ['keys:admin', 'orders:*'],
  environment: 'live',
  expiresAt: null,
  ...overrides,
});

function refusal(work: () => void): ApiKeyDelegationError {
  try {
    work();
  } catch (error) {
    if (error instanceof ApiKeyDelegationError) return error;
    throw error;
  }
  throw new Error('expected an ApiKeyDelegationError');
}

describe('uncoveredScopes', () => {
  it.each([
    [['orders:*'], ['orders:read', 'orders:refund:create', 'orders:refund:*'], []],
    [['orders:*'], ['*'], ['*']],
    [['orders:*'], ['orders'], ['orders']],
    [['orders:read', 'orders:write'], ['orders:*'], ['orders:*']],
    [['orders:read'], ['orders:read', 'ordersx:read'], ['ordersx:read']],
    [['*'], ['*', 'anything:at:all'], []],
    [[], [], []],
  ])('granted %j, requested %j: uncovered %j', (granted, requested, expected) => {
    expect(uncoveredScopes(granted, requested)).toEqual(expected);
  });
});

describe('managesEnvironment', () => {
  it('lets a key manage its own environment, and the primary one every environment', () => {
    expect(managesEnvironment('live', 'live', policy)).toBe(true);
    expect(managesEnvironment('live', 'test', policy)).toBe(true);
    expect(managesEnvironment('test', 'test', policy)).toBe(true);
    expect(managesEnvironment('test', 'live', policy)).toBe(false);
    expect(managesEnvironment(null, null, { environments: [] })).toBe(true);
  });
});

describe('assertMayGrant', () => {
  const key = { ownerId: null, scopes: ['orders:read'], environment: 'live', expiresAt: null };

  it('accepts a key within the actor', () => {
    expect(() => assertMayGrant(actor(), key, policy)).not.toThrow();
    expect(() => assertMayGrant(actor({ scopes: ['*'] }), { ...key, scopes: ['*'] }, policy)).not.toThrow();
  });

  it('refuses scopes the actor does not hold, naming them', () => {
    const error = refusal(() => assertMayGrant(actor(), { ...key, scopes: ['orders:read', 'billing:*', '*'] }, policy));
    expect(error.reason).toBe('scope');
    expect(error.message).toBe('API key actor cannot grant "billing:*", "*": it does not hold them');
  });

  it('refuses a test key managing live keys', () => {
    const error = refusal(() => assertMayGrant(actor({ environment: 'test' }), key, policy));
    expect(error.reason).toBe('environment');
    expect(() => assertMayGrant(actor({ environment: 'test' }), { ...key, environment: 'test' }, policy)).not.toThrow();
  });

  it('refuses a longer life than the actor has, and no expiry at all from an actor that expires', () => {
    const expiring = actor({ expiresAt: inAnHour });
    expect(refusal(() => assertMayGrant(expiring, key, policy)).reason).toBe('lifetime');
    const later = new Date(inAnHour.getTime() + 1);
    expect(refusal(() => assertMayGrant(expiring, { ...key, expiresAt: later }, policy)).reason).toBe('lifetime');
    expect(() => assertMayGrant(expiring, { ...key, expiresAt: inAnHour }, policy)).not.toThrow();
  });
});

describe('the owner rule', () => {
  const tenant = actor({ ownerId: 'tenant-a' });

  it('bounds a key with an owner to that owner, unless it holds keys:any-owner (or a wildcard covering it)', () => {
    expect(reachesOwner(tenant, 'tenant-a')).toBe(true);
    expect(reachesOwner(tenant, 'acme')).toBe(false);
    expect(reachesOwner(tenant, null)).toBe(false);
    for (const scopes of [[ANY_OWNER_SCOPE], ['keys:*'], ['*']])
      expect(reachesOwner(actor({ ownerId: 'tenant-a', scopes }), 'acme')).toBe(true);
    expect(reachesOwner(actor({ ownerId: 'tenant-a', scopes: ['keys:admin', 'keys:any'] }), 'acme')).toBe(false);
    // A key without an owner keeps its reach.
    expect(reachesOwner(actor(), 'acme')).toBe(true);
  });

  it('refuses issuing for, and managing keys of, another owner (or none), naming the scope it would take', () => {
    const key = { ownerId: 'acme', scopes: ['orders:read'], environment: 'live', expiresAt: null };
    const error = refusal(() => assertMayGrant(tenant, key, policy));
    expect(error.reason).toBe('owner');
    expect(error.message).toBe(
      'API key actor (owner "tenant-a") cannot manage keys of owner "acme": that takes the keys:any-owner scope',
    );
    expect(refusal(() => assertMayGrant(tenant, { ...key, ownerId: null }, policy)).message).toContain('of no owner');
    expect(refusal(() => assertMayManage(tenant, key, policy)).reason).toBe('owner');
    expect(() => assertMayGrant(tenant, { ...key, ownerId: 'tenant-a' }, policy)).not.toThrow();
  });

  it("gives a new key the bound actor's owner by default, and leaves an unbound actor's choice alone", () => {
    expect(defaultOwnerWithin(tenant, undefined)).toBe('tenant-a');
    expect(defaultOwnerWithin(tenant, 'acme')).toBe('acme'); // then refused by assertMayGrant
    expect(defaultOwnerWithin(actor({ ownerId: 'tenant-a', scopes: [ANY_OWNER_SCOPE] }), undefined)).toBeNull();
    expect(defaultOwnerWithin(actor(), undefined)).toBeNull();
  });
});

describe('assertMayManage (reads, revoke, disable)', () => {
  it('checks the environment and the owner, not the scopes', () => {
    expect(() =>
      assertMayManage(actor({ scopes: [] }), { ownerId: 'acme', environment: 'test' }, policy),
    ).not.toThrow();
    const error = refusal(() =>
      assertMayManage(actor({ environment: 'test' }), { ownerId: null, environment: 'live' }, policy),
    );
    expect(error.reason).toBe('environment');
  });
});

describe('readBounds (list, events, usage)', () => {
  it('bounds listings to the owner and environment the actor is bound to', () => {
    expect(readBounds(actor(), undefined, policy)).toEqual({});
    expect(readBounds(actor({ environment: 'test' }), undefined, policy)).toEqual({ environment: 'test' });
    expect(readBounds(actor({ ownerId: 'tenant-a' }), undefined, policy)).toEqual({ ownerId: 'tenant-a' });
    expect(readBounds(actor({ ownerId: 'tenant-a' }), 'tenant-a', policy)).toEqual({ ownerId: 'tenant-a' });
    expect(readBounds(actor({ ownerId: 'tenant-a', scopes: ['*'] }), 'acme', policy)).toEqual({});
    expect(readBounds(actor({ environment: null }), undefined, { environments: [] })).toEqual({});
  });

  it('refuses a listing that names an owner the actor does not reach', () => {
    expect(refusal(() => readBounds(actor({ ownerId: 'tenant-a' }), 'acme', policy)).reason).toBe('owner');
    expect(refusal(() => readBounds(actor({ ownerId: 'tenant-a' }), null, policy)).reason).toBe('owner');
  });

  it("lets only an actor of the primary environment that reaches the owner revoke all the owner's keys", () => {
    expect(() => assertMayRevokeAll(actor(), 'acme', policy)).not.toThrow();
    expect(() => assertMayRevokeAll(actor({ environment: null }), 'acme', { environments: [] })).not.toThrow();
    expect(refusal(() => assertMayRevokeAll(actor({ environment: 'test' }), 'acme', policy)).reason).toBe(
      'environment',
    );
    expect(refusal(() => assertMayRevokeAll(actor({ ownerId: 'tenant-a' }), 'acme', policy)).reason).toBe('owner');
    expect(() => assertMayRevokeAll(actor({ ownerId: 'tenant-a' }), 'tenant-a', policy)).not.toThrow();
  });
});

describe('assertMayChange: the rules about "itself" hold for the whole rotation family', () => {
  const managed = (overrides: Partial<ManagedKey> = {}): ManagedKey => ({
    id: 'other',
    familyId: 'other',
    ownerId: null,
    environment: 'live',
    scopes: ['orders:read'],
    expiresAt: inAnHour,
    ...overrides,
  });
  const itself = managed({ id: 'actor', familyId: 'family', scopes: ['keys:admin', 'orders:*'] });
  const successor = managed({ id: 'successor', familyId: 'family', scopes: ['keys:admin', 'orders:*'] });
  const predecessor = managed({ id: 'family', familyId: 'family', scopes: ['keys:admin', 'orders:*'] });

  it('knows the family: itself, a predecessor, a successor, and a key from before families by its id', () => {
    expect([itself, successor, predecessor, managed()].map((key) => isOwnFamily(actor(), key))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(isOwnFamily(actor({ familyId: 'legacy' }), managed({ id: 'legacy', familyId: null }))).toBe(true);
  });

  it('refuses changing the limits of any key of its family, naming the fields; allows them on other keys', () => {
    const limits = { limits: ['rateLimit', 'allowedIps'] };
    expect(refusal(() => assertMayChange(actor(), itself, limits, policy)).message).toBe(
      'API key actor cannot change its own rateLimit, allowedIps',
    );
    for (const key of [successor, predecessor]) {
      const error = refusal(() => assertMayChange(actor(), key, limits, policy));
      expect(error.reason).toBe('self');
      expect(error.message).toBe(
        `API key actor cannot change the rateLimit, allowedIps of API key ${key.id}, a key of its own rotation family`,
      );
    }
    expect(refusal(() => assertMayChange(actor(), successor, { limits: ['credits'] }, policy)).reason).toBe('self');
    expect(() => assertMayChange(actor(), managed(), limits, policy)).not.toThrow();
    expect(() => assertMayChange(actor(), successor, { limits: [] }, policy)).not.toThrow();
  });

  it('refuses enabling, widening or lengthening a key of its family; allows narrowing and shortening', () => {
    const narrowed = { ...successor, scopes: ['keys:admin'] };
    expect(refusal(() => assertMayChange(actor(), narrowed, { enables: true }, policy)).reason).toBe('self');
    const widen = refusal(() => assertMayChange(actor(), narrowed, { scopes: ['keys:admin', 'orders:*'] }, policy));
    expect(widen.message).toBe(
      'API key actor cannot widen the scopes of API key successor, a key of its own rotation family',
    );
    const later = new Date(inAnHour.getTime() + 1);
    expect(refusal(() => assertMayChange(actor(), predecessor, { expiresAt: later }, policy)).reason).toBe('self');
    expect(refusal(() => assertMayChange(actor(), predecessor, { expiresAt: null }, policy)).reason).toBe('self');
    expect(() => assertMayChange(actor(), narrowed, { scopes: [] }, policy)).not.toThrow();
    expect(() =>
      assertMayChange(actor(), predecessor, { expiresAt: new Date(inAnHour.getTime() - 1) }, policy),
    ).not.toThrow();
    // Outside its family the general rules decide: the actor holds orders:*.
    expect(() => assertMayChange(actor(), managed(), { enables: true, scopes: ['orders:*'] }, policy)).not.toThrow();
  });

  it('applies the general rules first: environment, owner, scopes, lifetime', () => {
    expect(refusal(() => assertMayChange(actor({ environment: 'test' }), managed(), {}, policy)).reason).toBe(
      'environment',
    );
    expect(refusal(() => assertMayChange(actor({ ownerId: 'a' }), managed({ ownerId: 'b' }), {}, policy)).reason).toBe(
      'owner',
    );
    expect(refusal(() => assertMayChange(actor(), managed({ scopes: ['*'] }), {}, policy)).reason).toBe('scope');
    const expiring = actor({ expiresAt: inAnHour });
    expect(refusal(() => assertMayChange(expiring, managed(), { expiresAt: null }, policy)).reason).toBe('lifetime');
    // An unchanged expiry is not held to the actor's.
    expect(() =>
      assertMayChange(expiring, managed({ expiresAt: null }), { limits: ['credits'] }, policy),
    ).not.toThrow();
  });
});

describe('defaultExpiryWithin', () => {
  it("holds a default expiry to the actor's", () => {
    const expiring = actor({ expiresAt: inAnHour });
    expect(defaultExpiryWithin(expiring, null)).toEqual(inAnHour);
    expect(defaultExpiryWithin(expiring, new Date(inAnHour.getTime() + 5))).toEqual(inAnHour);
    const sooner = new Date(inAnHour.getTime() - 5);
    expect(defaultExpiryWithin(expiring, sooner)).toBe(sooner);
    expect(defaultExpiryWithin(actor(), null)).toBeNull();
  });
});
