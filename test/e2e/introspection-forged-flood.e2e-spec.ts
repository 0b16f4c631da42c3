import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateApiKey, ApiKeyVerifier, type IssuedApiKey } from 'nestjs-opaque-keys';
import { ApiKeyRemoteModule, createIntrospectionController } from 'nestjs-opaque-keys/introspection';
import { OrdersController } from '../support/controllers.js';
import { createPlatformApp } from '../support/http-platform.js';
import { statusOf } from '../support/http-status.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * A flood of forged keys (well-formed, valid checksum, never issued) through a
 * service that verifies by introspection must not push a real key's answer
 * out of its cache. A is a real key store (ApiKeyModule + introspection
 * endpoint), B a real ApiKeyRemoteModule app with a long TTL and a small
 * cache; A's HTTP server counts the introspection calls that reach it.
 */

const MAX_ENTRIES = 50;
const FORGED = 500;

describe('introspection cache under a flood of forged keys', () => {
  let store: TestApp;
  let remote: INestApplication;
  let portB: number;
  let real: IssuedApiKey;
  let introspections = 0;
  /** Introspection calls A receives while `run` runs. */
  const callsDuring = async (run: () => Promise<unknown>) => {
    const before = introspections;
    await run();
    return introspections - before;
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  beforeAll(async () => {
    store = await createTestApp({ controllers: [createIntrospectionController()] });
    await store.app.listen(0, '127.0.0.1');
    store.app.getHttpServer().on('request', () => introspections++);
    const { port } = store.app.getHttpServer().address() as AddressInfo;
    const introspector = await store.service.issue({ name: 'service B', scopes: ['keys:introspect'] });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ApiKeyRemoteModule.forRoot({
          introspectionUrl: `http://127.0.0.1:${port}/oauth/introspect`,
          introspectionKey: introspector.key,
          cacheTtlMs: 60_000,
          cacheMaxEntries: MAX_ENTRIES,
        }),
      ],
      controllers: [OrdersController],
    }).compile();
    remote = await createPlatformApp(moduleRef, { logger: new LogCapture() });
    await remote.listen(0, '127.0.0.1');
    portB = (remote.getHttpServer().address() as AddressInfo).port;
    real = await store.service.issue({ name: 'real client', scopes: ['orders:read'] });
  });

  afterAll(async () => {
    agent.destroy();
    await remote?.close();
    await store?.close();
  });

  it(`the real key's answer stays cached after ${FORGED} forged keys (cache of ${MAX_ENTRIES}); each forged key is one call, none is kept`, async () => {
    expect(await callsDuring(async () => expect(await statusOf(agent, portB, '/orders', real.key)).toBe(200))).toBe(1);
    // Cached: the second request does not reach A.
    expect(await callsDuring(async () => expect(await statusOf(agent, portB, '/orders', real.key)).toBe(200))).toBe(0);

    const forged = Array.from({ length: FORGED }, () => generateApiKey({ prefix: 'sk' }));
    const floodCalls = await callsDuring(async () => {
      for (let i = 0; i < forged.length; i += 50) {
        const statuses = await Promise.all(forged.slice(i, i + 50).map((k) => statusOf(agent, portB, '/orders', k)));
        expect(statuses.every((s) => s === 401)).toBe(true);
      }
    });
    expect(floodCalls).toBe(FORGED); // every forged key was asked about once

    const cache = (remote.get(ApiKeyVerifier) as unknown as { cache: { size: number } }).cache;
    expect(cache.size).toBe(1); // the real key's answer only
    // Still served from B's cache: no introspection call.
    expect(await callsDuring(async () => expect(await statusOf(agent, portB, '/orders', real.key)).toBe(200))).toBe(0);
  });

  it('a forged key asked twice is asked of the key store twice (no negative cache), and stays 401', async () => {
    const forged = generateApiKey({ prefix: 'sk' });
    const calls = await callsDuring(async () => {
      expect(await statusOf(agent, portB, '/orders', forged)).toBe(401);
      expect(await statusOf(agent, portB, '/orders', forged)).toBe(401);
    });
    expect(calls).toBe(2);
  });
});
