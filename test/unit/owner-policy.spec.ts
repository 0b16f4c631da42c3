import { describe, expect, it } from '@jest/globals';
import {
  allowlistWithin,
  policyViolation,
  validateOwnerPolicy,
  type PolicyKey,
} from 'nestjs-opaque-keys/owner-policies';

const DAY = 86_400_000;
const created = new Date('2026-12-01T00:00:00Z');
const key = (patch: Partial<PolicyKey> = {}): PolicyKey => ({
  scopes: ['orders:read'],
  createdAt: created,
  expiresAt: new Date(created.getTime() + 10 * DAY),
  environment: 'live',
  allowedIps: JSON.stringify(['10.1.2.0/24']),
  ...patch,
});

/** The owner-policy rules, pure: which rule a key breaks, and address ranges within ranges. */
describe('owner policy rules', () => {
  it('finds an address list within the ranges only when every entry lies inside one of them', () => {
    expect(allowlistWithin(JSON.stringify(['10.1.2.3', '10.9.0.0/16']), ['10.0.0.0/8'])).toBe(true);
    expect(allowlistWithin(JSON.stringify(['10.0.0.0/7']), ['10.0.0.0/8'])).toBe(false); // wider than the range
    expect(allowlistWithin(JSON.stringify(['10.1.2.3', '192.168.0.1']), ['10.0.0.0/8'])).toBe(false);
    expect(allowlistWithin(JSON.stringify(['2001:db8::1']), ['2001:db8::/32', '10.0.0.0/8'])).toBe(true);
    expect(allowlistWithin(JSON.stringify(['2001:db8::1']), ['10.0.0.0/8'])).toBe(false); // another family
    expect(allowlistWithin(null, ['0.0.0.0/0'])).toBe(false); // any address is not within a range
    expect(allowlistWithin('not json', ['0.0.0.0/0'])).toBe(false); // unreadable: fail closed
  });

  it('names the first rule a key breaks, in a fixed order, and none for a key within the policy', () => {
    const policy = validateOwnerPolicy(
      {
        scopes: ['orders:*'],
        requireExpiry: true,
        maxLifetimeMs: 30 * DAY,
        environments: ['live'],
        allowedIps: ['10.0.0.0/8'],
      },
      ['live', 'test'],
    );
    expect(policyViolation(policy, key())).toBeNull();
    expect(policyViolation(policy, key({ scopes: ['billing'] }))?.rule).toBe('scopes');
    expect(policyViolation(policy, key({ expiresAt: null }))?.rule).toBe('expiry');
    expect(policyViolation(policy, key({ expiresAt: new Date(created.getTime() + 31 * DAY) }))?.rule).toBe('lifetime');
    expect(policyViolation(policy, key({ environment: 'test' }))?.rule).toBe('environment');
    expect(policyViolation(policy, key({ allowedIps: null }))?.rule).toBe('addresses');
    expect(policyViolation({ maxLifetimeMs: DAY }, key({ expiresAt: null }))?.rule).toBe('lifetime');
    expect(policyViolation(null, key({ scopes: ['*'] }))).toBeNull();
    expect(policyViolation({}, key({ scopes: ['*'], expiresAt: null, allowedIps: null }))).toBeNull();
  });

  it('normalizes a policy and refuses unknown fields and bad values', () => {
    expect(
      validateOwnerPolicy({ scopes: null, requireExpiry: false, allowedIps: ['10.0.0.1', '10.0.0.1'] }, []),
    ).toEqual({
      allowedIps: ['10.0.0.1'],
    });
    expect(() => validateOwnerPolicy([], [])).toThrow('an owner policy is an object');
    expect(() => validateOwnerPolicy({ maxLifetimeMs: 1.5 }, [])).toThrow('maxLifetimeMs');
    expect(() => validateOwnerPolicy({ environments: [] }, ['live'])).toThrow('non-empty');
    expect(() => validateOwnerPolicy({ scopes: 'orders:read' }, [])).toThrow('scopes must be an array');
  });
});
