import { describe, expect, it } from '@jest/globals';
import { ApiKeyConfigurationError } from 'nestjs-opaque-keys';
import { resolveLastAddressOptions, storedAddressOf, TRUNCATED_PREFIXES } from 'nestjs-opaque-keys/last-address';

describe('storedAddressOf: the address the last-address feature keeps', () => {
  it('keeps whole addresses, IPv4-mapped IPv6 as IPv4, IPv6 in its short form, without a zone', () => {
    expect(storedAddressOf('203.0.113.9')).toBe('203.0.113.9');
    expect(storedAddressOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(storedAddressOf('::FFFF:127.0.0.1')).toBe('127.0.0.1');
    expect(storedAddressOf('2001:0DB8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
    expect(storedAddressOf('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
    expect(storedAddressOf('fe80::1%eth0')).toBe('fe80::1');
    expect(storedAddressOf('::1')).toBe('::1');
    expect(storedAddressOf('64:ff9b::192.0.2.33')).toBe('64:ff9b::c000:221');
  });

  it('truncates to a /24 and a /48 in CIDR notation, or to other prefixes', () => {
    expect(storedAddressOf('203.0.113.9', TRUNCATED_PREFIXES)).toBe('203.0.113.0/24');
    expect(storedAddressOf('::ffff:198.51.100.200', TRUNCATED_PREFIXES)).toBe('198.51.100.0/24');
    expect(storedAddressOf('2001:db8:85a3:8d3:1319:8a2e:370:7348', TRUNCATED_PREFIXES)).toBe('2001:db8:85a3::/48');
    expect(storedAddressOf('2001:db8:85ff:ffff::1', { ipv4: 24, ipv6: 44 })).toBe('2001:db8:85f0::/44');
    expect(storedAddressOf('203.0.113.9', { ipv4: 20, ipv6: 48 })).toBe('203.0.112.0/20');
    expect(storedAddressOf('203.0.113.9', { ipv4: 0, ipv6: 0 })).toBe('0.0.0.0/0');
    expect(storedAddressOf('203.0.113.9', { ipv4: 32, ipv6: 128 })).toBe('203.0.113.9');
  });

  it('keeps nothing that is not an IP address', () => {
    for (const raw of [undefined, '', 'localhost', '203.0.113.9, 10.0.0.1', '1.2.3', '::ffff:999.1.1.1', 42])
      expect(storedAddressOf(raw)).toBeUndefined();
  });

  it('checks its options, naming the bad one', () => {
    expect(resolveLastAddressOptions().prefixes).toBeUndefined();
    expect(resolveLastAddressOptions({ truncate: true }).prefixes).toEqual({ ipv4: 24, ipv6: 48 });
    expect(resolveLastAddressOptions({ truncate: { ipv6: 56 } }).prefixes).toEqual({ ipv4: 24, ipv6: 56 });
    expect(() => resolveLastAddressOptions({ truncate: { ipv4: 33 } })).toThrow(
      expect.objectContaining({ option: 'lastAddress.truncate.ipv4' }) as unknown as Error,
    );
    expect(() => resolveLastAddressOptions({ truncate: 'yes' as never })).toThrow(ApiKeyConfigurationError);
    expect(() => resolveLastAddressOptions({ flushIntervalMs: 5 })).toThrow(/at least 100 ms/);
  });
});
