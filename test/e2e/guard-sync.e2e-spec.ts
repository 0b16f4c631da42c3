import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, HttpException, UseGuards, type ExecutionContext } from '@nestjs/common';
import { ApiKeyGuard, Scopes } from 'nestjs-opaque-keys';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

@Controller('sync')
@UseGuards(ApiKeyGuard)
class SyncController {
  @Get()
  @Scopes('orders:read')
  read() {
    return { ok: true };
  }
}

/** An HTTP execution context for `SyncController.read`, as Nest's guard consumer builds one. */
function contextFor(headers: Record<string, string>): { context: ExecutionContext; response: Record<string, string> } {
  const response: Record<string, string> = {};
  const request = { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])) };
  const res = { setHeader: (name: string, value: string) => (response[name.toLowerCase()] = value) };
  const http = { getRequest: () => request, getResponse: () => res, getNext: () => undefined };
  const context = {
    getClass: () => SyncController,
    getHandler: () => SyncController.prototype.read,
    getType: () => 'http',
    getArgs: () => [request, res],
    getArgByIndex: (i: number) => [request, res][i],
    switchToHttp: () => http,
    switchToRpc: () => ({}),
    switchToWs: () => ({}),
  } as unknown as ExecutionContext;
  return { context, response };
}

/** `key` with its last character changed (to one it is not), so its checksum fails. */
function broken(key: string): string {
  return key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x');
}

/** The status of what `canActivate` threw, synchronously. */
function thrownStatus(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    return (error as HttpException).getStatus();
  }
  throw new Error('canActivate did not throw synchronously');
}

// better-sqlite3 answers synchronously, so the guard can answer with a plain
// boolean and Nest awaits nothing; pooled drivers answer with a promise.
const synchronous = testDatabase() === 'sqlite';

describe(`ApiKeyGuard answers ${synchronous ? 'synchronously' : 'with a promise'} on ${testDatabase()}`, () => {
  let t: TestApp;
  let guard: ApiKeyGuard;
  let key: string;

  beforeAll(async () => {
    t = await createTestApp({ controllers: [SyncController] });
    guard = t.app.get(ApiKeyGuard);
    ({ key } = await t.service.issue({ name: 'sync', scopes: ['orders:read'] }));
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a valid key passes, in one statement', async () => {
    const before = t.queries.queries.length;
    const result = guard.canActivate(contextFor({ authorization: `Bearer ${key}` }).context);
    if (synchronous) expect(result).toBe(true);
    else {
      expect(result).toBeInstanceOf(Promise);
      await expect(result).resolves.toBe(true);
    }
    expect(t.queries.queries.length - before).toBe(1);
  });

  it('malformed and missing keys are refused at once, with no statement, on every database', () => {
    const before = t.queries.queries.length;
    expect(thrownStatus(() => guard.canActivate(contextFor({}).context))).toBe(401);
    expect(thrownStatus(() => guard.canActivate(contextFor({ authorization: `Bearer ${broken(key)}` }).context))).toBe(
      401,
    );
    expect(t.queries.queries.length - before).toBe(0);
  });

  it('a missing scope is a 403 with the challenge header', async () => {
    const { key: narrow } = await t.service.issue({ name: 'narrow', scopes: ['billing:read'] });
    const { context, response } = contextFor({ 'x-api-key': narrow });
    if (synchronous) expect(thrownStatus(() => guard.canActivate(context))).toBe(403);
    else await expect(guard.canActivate(context)).rejects.toMatchObject({ status: 403 });
    expect(response['www-authenticate']).toContain('error="insufficient_scope"');
  });

  it('a revocation is seen by the very next call', async () => {
    const { key: doomed, record } = await t.service.issue({ name: 'doomed', scopes: ['orders:read'] });
    await expect(Promise.resolve(guard.canActivate(contextFor({ 'x-api-key': doomed }).context))).resolves.toBe(true);
    await t.service.revoke(record.id);
    const result = (async () => guard.canActivate(contextFor({ 'x-api-key': doomed }).context))();
    await expect(result).rejects.toMatchObject({ status: 401 });
  });

  it('a key with a use limit takes the asynchronous path and spends its use', async () => {
    const { key: once } = await t.service.issue({ name: 'once', scopes: ['orders:read'], maxUses: 1 });
    const first = guard.canActivate(contextFor({ 'x-api-key': once }).context);
    expect(first).toBeInstanceOf(Promise);
    await expect(first).resolves.toBe(true);
    await expect(
      Promise.resolve().then(() => guard.canActivate(contextFor({ 'x-api-key': once }).context)),
    ).rejects.toMatchObject({
      status: 401,
    });
  });
});

describe(`ApiKeyGuard with the lookup cache on ${testDatabase()}`, () => {
  let t: TestApp;
  let guard: ApiKeyGuard;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [SyncController],
      options: { cache: { ttlMs: 60_000, invalidation: 'local' } },
    });
    guard = t.app.get(ApiKeyGuard);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers a cache hit synchronously, with no statement, on every database', async () => {
    const { key } = await t.service.issue({ name: 'hot', scopes: ['orders:read'] });
    await Promise.resolve(guard.canActivate(contextFor({ 'x-api-key': key }).context)); // a miss fills the cache
    const before = t.queries.queries.length;
    expect(guard.canActivate(contextFor({ 'x-api-key': key }).context)).toBe(true);
    expect(t.queries.queries.length - before).toBe(0);
  });
});
