import { describe, expect, it } from '@jest/globals';
import { bearerToken, extractCredential } from '../../lib/http/index.js';
import { bearerChallenge } from '../../lib/http/index.js';

const both = { bearer: true, header: 'x-api-key' as const };

describe('bearerToken', () => {
  it('reads the Bearer scheme case-insensitively with tolerant whitespace', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER \t abc  ')).toBe('abc');
    expect(bearerToken('Bearer')).toBe('');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearerabc')).toBeUndefined();
  });
});

describe('extractCredential', () => {
  it('finds nothing in a request without key headers', () => {
    expect(extractCredential({}, both)).toEqual({ kind: 'none' });
    expect(extractCredential({ authorization: 'Basic x' }, both)).toEqual({ kind: 'none' });
  });

  it('reads either source', () => {
    expect(extractCredential({ authorization: 'Bearer k1' }, both)).toEqual({ kind: 'key', key: 'k1' });
    expect(extractCredential({ 'x-api-key': ' k1 ' }, both)).toEqual({ kind: 'key', key: 'k1' });
  });

  it('accepts the same key twice and rejects two different keys', () => {
    expect(extractCredential({ authorization: 'Bearer k1', 'x-api-key': 'k1' }, both)).toEqual({
      kind: 'key',
      key: 'k1',
    });
    expect(extractCredential({ authorization: 'Bearer k1', 'x-api-key': 'k2' }, both)).toEqual({ kind: 'conflict' });
    expect(extractCredential({ 'x-api-key': ['k1', 'k2'] }, both)).toEqual({ kind: 'conflict' });
  });

  it('ignores disabled sources', () => {
    expect(extractCredential({ authorization: 'Bearer k1' }, { bearer: false, header: 'x-api-key' })).toEqual({
      kind: 'none',
    });
    expect(extractCredential({ 'x-api-key': 'k1' }, { bearer: true, header: false })).toEqual({ kind: 'none' });
  });
});

describe('bearerChallenge', () => {
  it('builds RFC 6750 challenges', () => {
    expect(bearerChallenge('api')).toBe('Bearer realm="api"');
    expect(bearerChallenge('api', 'invalid_token')).toBe('Bearer realm="api", error="invalid_token"');
    expect(bearerChallenge('api', 'insufficient_scope', 'a b')).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="a b"',
    );
  });
});
