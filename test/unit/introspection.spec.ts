import { describe, expect, it, jest } from '@jest/globals';
import { ApiKeyStoreUnavailableError, generateApiKey, hashApiKey, type ApiKeyPrincipal } from 'nestjs-opaque-keys';
import {
  fromIntrospectionResponse,
  RemoteApiKeyVerifier,
  toIntrospectionResponse,
  type ApiKeyRemoteModuleOptions,
} from 'nestjs-opaque-keys/introspection';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import { ResolvedRemoteOptions } from '../../lib/features/introspection/index.js';

const principal: ApiKeyPrincipal = {
  id: '7d3c0a52-0000-4000-8000-000000000001',
  familyId: '7d3c0a52-0000-4000-8000-000000000000',
  name: 'billing sync',
  ownerId: 'acme',
  scopes: ['orders:read', 'billing:*'],
  metadata: { plan: 'pro' },
  expiresAt: new Date('2030-01-01T00:00:00.900Z'),
  environment: 'live',
  remainingUses: null,
  rateLimit: null,
};

describe('RFC 7662 answers', () => {
  it('maps an active key, exp in whole seconds, and reads it back', () => {
    const answer = toIntrospectionResponse({ valid: true, principal });
    expect(answer).toEqual({
      active: true,
      scope: 'orders:read billing:*',
      client_id: principal.id,
      sub: 'acme',
      exp: 1893456000,
      token_type: 'api_key',
      ext: {
        name: 'billing sync',
        family_id: '7d3c0a52-0000-4000-8000-000000000000',
        environment: 'live',
        metadata: { plan: 'pro' },
      },
    });
    expect(fromIntrospectionResponse(JSON.parse(JSON.stringify(answer)))).toEqual({
      valid: true,
      principal: { ...principal, expiresAt: new Date('2030-01-01T00:00:00.000Z') },
    });
  });

  it('omits sub and exp when absent, and carries use and rate limits in ext', () => {
    const answer = toIntrospectionResponse({
      valid: true,
      principal: {
        ...principal,
        ownerId: null,
        expiresAt: null,
        remainingUses: 3,
        rateLimit: { limit: 10, windowMs: 1000 },
      },
    });
    expect(answer).not.toHaveProperty('sub');
    expect(answer).not.toHaveProperty('exp');
    expect(answer).toMatchObject({ ext: { remaining_uses: 3, rate_limit: { limit: 10, window_ms: 1000 } } });
    const back = fromIntrospectionResponse(answer);
    expect(back).toMatchObject({
      valid: true,
      principal: { ownerId: null, expiresAt: null, remainingUses: 3, rateLimit: { limit: 10, windowMs: 1000 } },
    });
  });

  it('carries an IP allowlist in ext.allowed_ips and reads it back; a list it cannot read allows no address', () => {
    const allowedIps = { entries: ['203.0.113.0/24'], allows: () => true };
    const answer = JSON.parse(
      JSON.stringify(toIntrospectionResponse({ valid: true, principal: { ...principal, allowedIps } })),
    );
    expect(answer.ext.allowed_ips).toEqual(['203.0.113.0/24']);
    const back = fromIntrospectionResponse(answer);
    if (!back?.valid) throw new Error('expected an active answer');
    expect(back.principal.allowedIps?.entries).toEqual(['203.0.113.0/24']);
    expect(back.principal.allowedIps?.allows('203.0.113.9')).toBe(true);
    expect(back.principal.allowedIps?.allows('198.51.100.1')).toBe(false);
    expect(toIntrospectionResponse({ valid: true, principal })).toMatchObject({
      ext: expect.not.objectContaining({ allowed_ips: expect.anything() }),
    });
    for (const unreadable of [[], 'any', ['not-an-ip'], null, { 0: '203.0.113.9' }]) {
      const read = fromIntrospectionResponse({ ...answer, ext: { ...answer.ext, allowed_ips: unreadable } });
      if (!read?.valid) throw new Error('expected an active answer');
      expect(read.principal.allowedIps?.allows('203.0.113.9')).toBe(false);
    }
  });

  it.each(['malformed', 'unknown', 'revoked', 'expired', 'exhausted'] as const)(
    'gives a %s key { active: false } and nothing more',
    (reason) => {
      expect(toIntrospectionResponse({ valid: false, reason, keyId: principal.id })).toEqual({ active: false });
    },
  );

  it('reads inactive answers as unknown and rejects answers that are not RFC 7662', () => {
    expect(fromIntrospectionResponse({ active: false, extra: 1 })).toEqual({ valid: false, reason: 'unknown' });
    for (const body of [
      null,
      'active',
      {},
      { active: 'true' },
      { active: true },
      { active: true, client_id: 'x', scope: 5 },
    ]) {
      expect(fromIntrospectionResponse(body)).toBeUndefined();
    }
  });
});

describe('RemoteApiKeyVerifier', () => {
  const key = generateApiKey({ prefix: 'sk' });
  const active = () =>
    new Response(JSON.stringify(toIntrospectionResponse({ valid: true, principal })), { status: 200 });

  function verifierWith(fetch: ApiKeyRemoteModuleOptions['fetch'], extra: Partial<ApiKeyRemoteModuleOptions> = {}) {
    const remote = new ResolvedRemoteOptions({
      introspectionUrl: 'http://keys.test/oauth/introspect',
      introspectionKey: 'sk_service',
      fetch,
      ...extra,
    });
    return new RemoteApiKeyVerifier(new ResolvedApiKeyOptions({ prefix: 'sk' }), remote);
  }

  it('posts the key as a form with its own bearer key, and caches the answer under the hash for the TTL', async () => {
    const fetch = jest.fn(async (_url: string, _init: RequestInit) => active());
    const verifier = verifierWith(fetch, { cacheTtlMs: 1000 });
    const now = Date.now();
    expect(await verifier.verify(key, now)).toMatchObject({ valid: true, principal: { id: principal.id } });
    expect(await verifier.verify(key, now + 999)).toMatchObject({ valid: true });
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('http://keys.test/oauth/introspect');
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({
      authorization: 'Bearer sk_service',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(new URLSearchParams(init.body as string).get('token')).toBe(key);
    expect(
      JSON.stringify(
        (verifier as unknown as { cache: { entries: Map<string, unknown> } }).cache.entries.keys().next().value,
      ),
    ).toBe(JSON.stringify(hashApiKey(key)));
    await verifier.verify(key, now + 1001);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('refuses malformed keys and other prefixes without a call', async () => {
    const fetch = jest.fn(async () => active());
    const verifier = verifierWith(fetch);
    for (const token of ['nope', key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')]) {
      expect(await verifier.verify(token)).toEqual({ valid: false, reason: 'malformed' });
    }
    expect(await verifier.verify(generateApiKey({ prefix: 'pk' }))).toEqual({ valid: false, reason: 'prefix' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shares one call between concurrent requests and keeps at most cacheMaxEntries answers', async () => {
    const fetch = jest.fn(async () => active());
    const verifier = verifierWith(fetch, { cacheMaxEntries: 3 });
    await Promise.all([verifier.verify(key), verifier.verify(key)]);
    expect(fetch).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 10; i++) await verifier.verify(generateApiKey({ prefix: 'sk' }));
    expect((verifier as unknown as { cache: { size: number } }).cache.size).toBe(3);
  });

  it('shares one call for concurrent unknown keys, but keeps no inactive answer', async () => {
    const fetch = jest.fn(async () => new Response('{"active":false}'));
    const verifier = verifierWith(fetch, { cacheMaxEntries: 3 });
    await Promise.all([verifier.verify(key), verifier.verify(key)]);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect((verifier as unknown as { cache: { size: number } }).cache.size).toBe(0);
    await verifier.verify(key);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('refuses a cached key once it expires', async () => {
    const verifier = verifierWith(async () => active(), { cacheTtlMs: 60_000 });
    const expiry = Math.floor(principal.expiresAt!.getTime() / 1000) * 1000;
    expect((await verifier.verify(key, expiry - 1)).valid).toBe(true);
    expect(await verifier.verify(key, expiry)).toEqual({
      valid: false,
      reason: 'expired',
      keyId: principal.id,
      ownerId: principal.ownerId,
    });
  });

  it.each([
    ['a network error', async () => Promise.reject(new TypeError('fetch failed'))],
    ['a 401 (its own key refused)', async () => new Response('{}', { status: 401 })],
    ['a 500', async () => new Response('oops', { status: 500 })],
    ['a body that is not JSON', async () => new Response('<html>')],
    ['a body that is not RFC 7662', async () => new Response('{"active":"yes"}')],
  ])('fails closed on %s, and caches no outage', async (_name, answer) => {
    const fetch = jest.fn(answer as () => Promise<Response>);
    const verifier = verifierWith(fetch);
    await expect(verifier.verify(key)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
    await expect(verifier.verify(key)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('gives up after timeoutMs', async () => {
    const hang = (_url: string, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) =>
        init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
      );
    const verifier = verifierWith(hang, { timeoutMs: 50 });
    const started = Date.now();
    await expect(verifier.verify(key)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('passes consumeUse through: uses are counted by the key store', async () => {
    const verifier = verifierWith(async () => active());
    const limited = { ...principal, remainingUses: 1 };
    expect(await verifier.consumeUse(limited)).toEqual({ valid: true, principal: limited });
  });

  it('checks its options', () => {
    expect(() => new ResolvedRemoteOptions({ introspectionUrl: '/relative', introspectionKey: 'k' })).toThrow();
    expect(() => new ResolvedRemoteOptions({ introspectionUrl: 'ftp://x/', introspectionKey: 'k' })).toThrow(/http/);
    expect(() => new ResolvedRemoteOptions({ introspectionUrl: 'http://x/', introspectionKey: '' })).toThrow(
      /introspectionKey/,
    );
    expect(
      () => new ResolvedRemoteOptions({ introspectionUrl: 'http://x/', introspectionKey: 'k', timeoutMs: 0 }),
    ).toThrow(/timeoutMs/);
    expect(new ResolvedRemoteOptions({ introspectionUrl: 'http://x/', introspectionKey: 'k' })).toMatchObject({
      cacheTtlMs: 5000,
      cacheMaxEntries: 10000,
      timeoutMs: 2000,
    });
  });
});
