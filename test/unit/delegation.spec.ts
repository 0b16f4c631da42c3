import { describe, expect, it } from '@jest/globals';
import { ApiKeyDelegationError } from 'nestjs-opaque-keys';
import {
  assertMayGrant,
  assertMayManage,
  assertNotOwnLimits,
  defaultExpiryWithin,
  managesEnvironment,
  uncoveredScopes,
  type DelegatingKey,
} from '../../lib/policies/index.js';

const policy = { environments: ['live', 'test'] };
const inAnHour = new Date(Date.now() + 3_600_000);
const actor = (overrides: Partial<DelegatingKey> = {}): DelegatingKey => ({
  id: 'actor',
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
  const key = { scopes: ['orders:read'], environment: 'live', expiresAt: null };

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

describe('assertMayManage and assertNotOwnLimits', () => {
  it('checks the environment only', () => {
    expect(() => assertMayManage(actor({ scopes: [] }), 'test', policy)).not.toThrow();
    expect(refusal(() => assertMayManage(actor({ environment: 'test' }), 'live', policy)).reason).toBe('environment');
  });

  it('refuses a key lifting its own limits, not another key', () => {
    expect(refusal(() => assertNotOwnLimits(actor(), 'actor', ['rateLimit'])).message).toBe(
      'API key actor cannot change its own rateLimit',
    );
    expect(() => assertNotOwnLimits(actor(), 'other', ['rateLimit'])).not.toThrow();
    expect(() => assertNotOwnLimits(actor(), 'actor', [])).not.toThrow();
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
