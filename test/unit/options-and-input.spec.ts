import { describe, expect, it } from '@jest/globals';
import {
  ApiKeyConfigurationError,
  ApiKeyValidationError,
  generateApiKey,
  type ApiKeyModuleOptions,
} from 'nestjs-opaque-keys';
import * as input from '../../lib/policies/index.js';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';

/** What `fn` throws. */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('nothing was thrown');
}

describe('ResolvedApiKeyOptions', () => {
  it('applies documented defaults, each written once', () => {
    expect({ ...new ResolvedApiKeyOptions() }).toEqual({
      prefix: 'sk',
      entropyBits: 256,
      bearer: true,
      header: 'x-api-key',
      realm: 'api',
      retryAfterSeconds: 5,
      lastUsedIntervalMs: 60_000,
      auditUseIntervalMs: 60_000,
      coalesceLookups: false,
      readFrom: 'primary',
      replicaLagCheckIntervalMs: 1000,
      rateLimit: undefined,
      rateLimitStorage: undefined,
      rateLimitBackend: 'memory',
      ownerRateLimit: undefined,
      environments: [],
      defaultLifetimeMs: undefined,
      maxLifetimeMs: undefined,
      optional: false,
      logIntervalMs: 60_000,
      prefixes: new Map([['sk', null]]),
      schemaCheck: true,
      routeCheck: true,
      recordKeyFormat: true,
    });
    expect(new ResolvedApiKeyOptions({ environments: ['live', 'test'] }).prefixes).toEqual(
      new Map([
        ['sk_live', 'live'],
        ['sk_test', 'test'],
      ]),
    );
  });

  it('takes the longest entropy whose keys still parse, with and without the tag', () => {
    expect(new ResolvedApiKeyOptions({ entropyBits: 680 }).entropyBits).toBe(680);
    expect(
      new ResolvedApiKeyOptions({ entropyBits: 630, keyTag: { secrets: { '1': 'x'.repeat(32) }, current: '1' } }),
    ).toBeDefined();
  });

  it('keeps given values, ignores undefined ones and lower-cases the header', () => {
    const options = new ResolvedApiKeyOptions({ prefix: 'acme_live', header: 'X-Acme-Key', realm: undefined });
    expect(options.prefix).toBe('acme_live');
    expect(options.header).toBe('x-acme-key');
    expect(options.realm).toBe('api');
  });

  const secret = 'x'.repeat(32);
  it.each<[ApiKeyModuleOptions, RegExp, string]>([
    [{ prefix: 'bad-prefix' }, /prefix/, 'prefix'],
    [{ environments: ['live'], prefix: 'p'.repeat(30) }, /API key prefix must be 1-32/, 'prefix'],
    [{ entropyBits: 64 }, /entropyBits/, 'entropyBits'],
    [{ entropyBits: 1024 }, /^prefix and entropyBits give keys longer than 128 characters$/, 'entropyBits'],
    [
      { entropyBits: 680, keyTag: { secrets: { '1': 'x'.repeat(32) }, current: '1' } },
      /longer than 128/,
      'entropyBits',
    ],
    [{ header: 'x key' }, /header/, 'header'],
    [{ bearer: false, header: false as const }, /no way to send a key/, 'bearer'],
    [{ realm: 'a"b' }, /realm/, 'realm'],
    [{ recordKeyFormat: 'yes' as unknown as boolean }, /recordKeyFormat must be a boolean/, 'recordKeyFormat'],
    [{ routeCheck: 'no' as unknown as boolean }, /routeCheck must be a boolean/, 'routeCheck'],
    [{ retryAfterSeconds: -1 }, /retryAfterSeconds/, 'retryAfterSeconds'],
    [{ lastUsedIntervalMs: Number.NaN }, /lastUsedIntervalMs/, 'lastUsedIntervalMs'],
    [{ environments: ['Live'] }, /environments/, 'environments[0]'],
    [{ environments: 'live' as never }, /environments/, 'environments'],
    [{ rateLimit: { limit: 0, windowMs: 1000 } }, /rateLimit/, 'rateLimit.limit'],
    [{ rateLimit: { limit: 10, windowMs: 86_400_001 } }, /^rateLimit must be/, 'rateLimit.windowMs'],
    [{ rateLimit: 5 as never }, /rateLimit/, 'rateLimit'],
    [{ ownerRateLimit: { limit: 10, windowMs: 0 } }, /^ownerRateLimit: must be/, 'ownerRateLimit.windowMs'],
    [{ rateLimitBackend: 'redis' as never }, /rateLimitBackend must be/, 'rateLimitBackend'],
    [{ maxLifetimeMs: 0 }, /maxLifetimeMs/, 'maxLifetimeMs'],
    [{ defaultLifetimeMs: 2000, maxLifetimeMs: 1000 }, /must not exceed/, 'defaultLifetimeMs'],
    [{ cache: { ttlMs: 0 } }, /cache.ttlMs/, 'cache.ttlMs'],
    [{ cache: { invalidation: 'redis' as never } }, /cache.invalidation/, 'cache.invalidation'],
    [{ readFrom: 'replicas' as never }, /readFrom/, 'readFrom'],
    [{ maxReplicaLagMs: 500 }, /needs readFrom: 'replica'/, 'maxReplicaLagMs'],
    [{ readFrom: 'replica', maxReplicaLagMs: 0 }, /positive integer/, 'maxReplicaLagMs'],
    [{ readFrom: 'replica', replicaLagCheckIntervalMs: 1.5 }, /positive integer/, 'replicaLagCheckIntervalMs'],
    [{ maxKeysPerOwner: 0 }, /maxKeysPerOwner/, 'maxKeysPerOwner'],
    [{ keyTag: { secrets: { '1': 'short' }, current: '1' } }, /at least 32 bytes/, 'keyTag.secrets["1"]'],
    [{ keyTag: { secrets: { '1': secret }, current: '2' } }, /keyTag.current/, 'keyTag.current'],
    [
      { keyTag: { secrets: { '1': secret }, current: '1', acceptUntagged: 1 as never } },
      /boolean/,
      'keyTag.acceptUntagged',
    ],
  ])('rejects %j with an ApiKeyConfigurationError naming the option', (options, message, option) => {
    const error = thrown(() => new ResolvedApiKeyOptions(options));
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error).toMatchObject({ code: 'ERR_API_KEY_CONFIGURATION', option });
    expect(error.message).toMatch(message);
  });
});

describe('input validation', () => {
  const now = Date.now();

  it('validates names', () => {
    expect(input.validateName('billing')).toBe('billing');
    for (const bad of ['', '   ', 'x'.repeat(101), 5, undefined])
      expect(() => input.validateName(bad)).toThrow(ApiKeyValidationError);
  });

  it('validates owner ids', () => {
    expect(input.validateOwnerId(undefined)).toBeNull();
    expect(input.validateOwnerId('team-1')).toBe('team-1');
    for (const bad of ['', 'x'.repeat(256), 12, 'team-1 ', ' team-1'])
      expect(() => input.validateOwnerId(bad)).toThrow(ApiKeyValidationError);
  });

  it('validates expiry dates', () => {
    const future = new Date(now + 60_000);
    expect(input.validateExpiry(future, now)).toBe(future);
    expect(input.validateExpiry(null, now)).toBeNull();
    expect(() => input.validateExpiry(new Date(now - 1), now)).toThrow(/future/);
    expect(() => input.validateExpiry(new Date('nope'), now)).toThrow(/valid Date/);
    expect(() => input.validateExpiry('2099-01-01', now)).toThrow(/valid Date/);
  });

  it('validates metadata as a small JSON object and copies it', () => {
    const meta = { plan: 'pro', nested: { a: 1 } };
    const copy = input.validateMetadata(meta);
    expect(copy).toEqual(meta);
    expect(copy).not.toBe(meta);
    expect(() => input.validateMetadata([1])).toThrow(/JSON object/);
    expect(() => input.validateMetadata({ big: 'x'.repeat(5000) })).toThrow(/4096/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => input.validateMetadata(cyclic)).toThrow(/serializable/);
  });

  it('validates grace periods and ids', () => {
    expect(input.validateGracePeriod(undefined)).toBe(0);
    expect(input.validateGracePeriod(1000)).toBe(1000);
    for (const bad of [-1, Infinity, '10']) expect(() => input.validateGracePeriod(bad)).toThrow(ApiKeyValidationError);
    expect(() => input.validateId('')).toThrow(ApiKeyValidationError);
    expect(() => input.validateId('x'.repeat(37))).toThrow(ApiKeyValidationError);
  });

  it('validates entropy (a configuration error), the same for the options and generateApiKey', () => {
    expect(input.validateEntropyBits(128)).toBe(128);
    for (const bad of [127, 128.5, '256', undefined])
      expect(() => input.validateEntropyBits(bad)).toThrow(ApiKeyConfigurationError);
    expect(() => new ResolvedApiKeyOptions({ entropyBits: 127 })).toThrow(
      'entropyBits must be an integer >= 128; got 127',
    );
    expect(() => generateApiKey({ prefix: 'sk', entropyBits: 127 })).toThrow(
      'entropyBits must be an integer >= 128; got 127',
    );
    expect(thrown(() => generateApiKey({ prefix: 'sk', entropyBits: 127 }))).toMatchObject({ option: 'entropyBits' });
    expect(thrown(() => generateApiKey({ prefix: 'sk', entropyBits: 4096 }))).toMatchObject({
      message: 'prefix and entropyBits give keys longer than 128 characters',
      option: 'entropyBits',
    });
    expect(thrown(() => generateApiKey({ prefix: 's-k' }))).toMatchObject({ option: 'prefix' });
  });

  it('validates pages, with their defaults', () => {
    expect(input.validatePage({})).toEqual({ limit: 50, offset: 0 });
    expect(input.validatePage({ limit: 100, offset: 7 })).toEqual({ limit: 100, offset: 7 });
    for (const bad of [{ limit: 0 }, { limit: 101 }, { limit: 1.5 }, { offset: -1 }, { offset: '2' }])
      expect(() => input.validatePage(bad)).toThrow(ApiKeyValidationError);
    expect(() => input.validateEventsQuery({ limit: 10 })).toThrow(/keyId or ownerId/);
    expect(input.validateEventsQuery({ ownerId: 'o' })).toEqual({ limit: 50, offset: 0 });
  });

  it('validates reasons, use limits, environments and purge cut-offs', () => {
    expect(input.validateReason(undefined)).toBeNull();
    expect(input.validateReason('leaked')).toBe('leaked');
    for (const bad of [null, 5, 'x'.repeat(256)])
      expect(() => input.validateReason(bad)).toThrow(ApiKeyValidationError);
    // maxUses is credits without refill.
    expect(input.validateCredits(undefined, undefined)).toBeNull();
    expect(input.validateCredits(undefined, 3)).toEqual({ remaining: 3, refill: null });
    for (const bad of [0, -1, 1.5, '3', 2_000_000_001])
      expect(() => input.validateCredits(undefined, bad)).toThrow(ApiKeyValidationError);
    expect(input.validateEnvironment(undefined, ['live', 'test'])).toBe('live');
    expect(input.validateEnvironment('test', ['live', 'test'])).toBe('test');
    expect(input.validateEnvironment(undefined, [])).toBeUndefined();
    expect(() => input.validateEnvironment('prod', ['live'])).toThrow(/one of live/);
    expect(() => input.validateEnvironment('live', [])).toThrow(/no environments/);
    expect(input.validatePurgeBefore(new Date(now - 1), now).getTime()).toBe(now - 1);
    for (const bad of [new Date(now + 60_000), new Date('nope'), now])
      expect(() => input.validatePurgeBefore(bad, now)).toThrow(ApiKeyValidationError);
  });
});
