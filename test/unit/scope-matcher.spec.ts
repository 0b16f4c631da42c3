import { describe, expect, it } from '@jest/globals';
import { ApiKeyValidationError, isValidScope, matchScopes } from 'nestjs-opaque-keys';
import { grantCovers } from '../../lib/policies/index.js';
import {
  describeRequirement,
  mergeRequirements,
  normalizeScopes,
  NO_SCOPES_REQUIRED,
} from '../../lib/policies/index.js';

describe('grantCovers', () => {
  it.each([
    ['orders:read', 'orders:read', true],
    ['orders:read', 'orders:write', false],
    ['orders:*', 'orders:read', true],
    ['orders:*', 'orders:refund:create', true],
    ['orders:*', 'ordersx:read', false],
    ['orders:*', 'orders', false],
    ['orders:refund:*', 'orders:read', false],
    ['*', 'anything:at:all', true],
    ['orders', 'orders:read', false],
  ])('%s covers %s: %s', (granted, required, expected) => {
    expect(grantCovers(granted, required)).toBe(expected);
  });
});

describe('matchScopes', () => {
  const req = (allOf: string[], anyOf: string[][] = []) => ({ allOf, anyOf });

  it('requires all of allOf', () => {
    expect(matchScopes(req(['a:r', 'b:r']), ['a:r', 'b:r'])).toBe(true);
    expect(matchScopes(req(['a:r', 'b:r']), ['a:r'])).toBe(false);
    expect(matchScopes(req(['a:r', 'b:r']), ['*'])).toBe(true);
  });

  it('requires one of each anyOf group', () => {
    const r = req([], [['a:r', 'a:admin'], ['b:r']]);
    expect(matchScopes(r, ['a:admin', 'b:r'])).toBe(true);
    expect(matchScopes(r, ['a:admin'])).toBe(false);
    expect(matchScopes(r, ['a:*', 'b:*'])).toBe(true);
  });

  it('lets any key through a route without requirements', () => {
    expect(matchScopes(NO_SCOPES_REQUIRED, [])).toBe(true);
  });
});

describe('requirements', () => {
  it('merges class and handler requirements so both apply', () => {
    const merged = mergeRequirements(
      { allOf: ['admin'], anyOf: [] },
      { allOf: ['orders:refund', 'admin'], anyOf: [['x', 'y']] },
    );
    expect(merged).toEqual({ allOf: ['admin', 'orders:refund'], anyOf: [['x', 'y']] });
    expect(mergeRequirements(undefined, undefined)).toBe(NO_SCOPES_REQUIRED);
    expect(describeRequirement(merged)).toBe('admin orders:refund x y');
  });
});

describe('scope validation', () => {
  it('accepts segments, trailing wildcards and *', () => {
    for (const ok of ['orders', 'orders:read', 'orders:*', '*', 'a.b-c_d:e', 'x:y:z:*'])
      expect(isValidScope(ok)).toBe(true);
  });

  it('rejects spaces, inner wildcards, empty segments and oversize scopes', () => {
    for (const bad of [
      '',
      'orders read',
      'orders:*:read',
      'orders*',
      ':read',
      'orders:',
      'a::b',
      '*:x',
      'x'.repeat(129),
      7,
      null,
    ]) {
      expect(isValidScope(bad)).toBe(false);
    }
  });

  it('normalizes by de-duplicating, and names the bad entry', () => {
    expect(normalizeScopes(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(() => normalizeScopes(['ok', 'not ok'])).toThrow(/invalid scope "not ok"/);
    expect(() => normalizeScopes('a')).toThrow(ApiKeyValidationError);
    expect(() => normalizeScopes(Array.from({ length: 101 }, (_, i) => `s${i}`))).toThrow(/at most 100/);
  });
});
