import { describe, expect, it } from '@jest/globals';
import { ApiKeyValidationError } from 'nestjs-opaque-keys';
import { compileAllowlist, storedAllowlist, validateAllowedIps } from '../../lib/policies/index.js';

describe('validateAllowedIps', () => {
  it('takes IPv4 and IPv6 addresses and CIDR ranges, and null for any address', () => {
    expect(validateAllowedIps(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7', '::1', '203.0.113.0/24'])).toEqual([
      '203.0.113.0/24',
      '2001:db8::/32',
      '198.51.100.7',
      '::1',
    ]);
    expect(validateAllowedIps(undefined)).toBeNull();
    expect(validateAllowedIps(null)).toBeNull();
  });

  it.each([
    [[]],
    ['203.0.113.0/24'],
    [['203.0.113.0/33']],
    [['2001:db8::/129']],
    [['203.0.113.0/']],
    [['203.0.113.0/-1']],
    [['203.0.113.256']],
    [['example.com']],
    [[' 203.0.113.1']],
    [['fe80::1%eth0']],
    [[42]],
    [new Array(101).fill('203.0.113.1')],
  ])('refuses %j with a typed error', (value) => {
    expect(() => validateAllowedIps(value)).toThrow(ApiKeyValidationError);
  });
});

describe('compileAllowlist', () => {
  const list = compileAllowlist(['203.0.113.0/24', '2001:db8::/32', '198.51.100.7']);

  it.each([
    ['203.0.113.5', true],
    ['203.0.113.255', true],
    ['203.0.114.1', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['2001:db8::1', true],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['::ffff:203.0.113.5', true],
    ['::FFFF:203.0.113.5', true],
    ['::ffff:203.0.114.5', false],
    ['::1', false],
    ['', false],
    ['not an ip', false],
  ])('%s: %s', (address, expected) => {
    expect(list.allows(address)).toBe(expected);
  });

  it('refuses anything that is not an address string (no address known: fail closed)', () => {
    expect(list.allows(undefined)).toBe(false);
    expect(list.allows(null)).toBe(false);
    expect(list.allows(['203.0.113.5'])).toBe(false);
  });

  it('masks host bits of a range: 203.0.113.77/24 covers the whole /24', () => {
    expect(compileAllowlist(['203.0.113.77/24']).allows('203.0.113.1')).toBe(true);
  });
});

describe('storedAllowlist', () => {
  it('compiles a stored value once, and reads null as any address', () => {
    const stored = JSON.stringify(['10.0.0.0/8']);
    const first = storedAllowlist(stored);
    expect(first?.allows('10.1.2.3')).toBe(true);
    expect(storedAllowlist(String(stored))).toBe(first);
    expect(storedAllowlist(null)).toBeNull();
  });

  it.each(['not json', '{"a":1}', '"10.0.0.0/8"', '["10.0.0.0/8", "bogus"]', '[]'])(
    'fails closed on a stored value it cannot read: %s',
    (stored) => {
      const allowlist = storedAllowlist(stored)!;
      expect(allowlist.entries).toEqual([]);
      for (const address of ['10.0.0.1', '127.0.0.1', '::1']) expect(allowlist.allows(address)).toBe(false);
    },
  );
});
