import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import type { ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { ApiKeyOwnerPolicies, withOwnerPolicies } from 'nestjs-opaque-keys/owner-policies';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** One request of the load: when it started and ended (ms, `performance.now()`), and its status. */
interface Sample {
  readonly key: 'violating' | 'compliant';
  readonly start: number;
  readonly end: number;
  readonly status: number;
}

// Hundreds of requests on a shared, busy machine: give each run time.
jest.setTimeout(180_000);

/** Parallel clients sending requests back to back, each alternating the two keys. */
const CLIENTS = 12;

/** Requests with the violating key wanted before the change, and again after it. */
const MIN_SAMPLES = 100;

/** Resolves once `done()` holds (checked every 20 ms), or after 60 s. */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 60_000; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

/**
 * A policy tightened under load, on the configured database: clients keep sending requests with a key that the
 * new policy refuses (and one it keeps) while the policy change commits. No request that started after the
 * change returned may be answered 200 with the refused key.
 */
describe('owner policies under load', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function tightenUnderLoad(options: ApiKeyModuleOptions): Promise<void> {
    t = await createTestApp({ controllers: [OrdersController], options, extras: { features: [withOwnerPolicies()] } });
    const app = t.app;
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const violating = await t.service.issue({ name: 'violating', ownerId: 'load', scopes: ['orders:*'] });
    const compliant = await t.service.issue({ name: 'compliant', ownerId: 'load', scopes: ['orders:read'] });
    const keys = { violating: violating.key, compliant: compliant.key };
    const samples: Sample[] = [];
    let stop = false;
    const client = async (index: number) => {
      for (let n = index; !stop; n++) {
        const which = n % 2 === 0 ? 'violating' : 'compliant';
        const start = performance.now();
        const response = await fetch(`http://127.0.0.1:${port}/orders`, {
          headers: { Authorization: `Bearer ${keys[which]}` },
        });
        await response.arrayBuffer();
        samples.push({ key: which, start, end: performance.now(), status: response.status });
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, index) => client(index));
    // Until the violating key was answered 200 a number of times under load, then the change, then as many after.
    const count = (since: number) => samples.filter((s) => s.key === 'violating' && s.start > since).length;
    await until(() => count(0) >= MIN_SAMPLES);
    const changeStart = performance.now();
    const change = await app.get(ApiKeyOwnerPolicies).set('load', { scopes: ['orders:read'] });
    const committed = performance.now();
    await until(() => count(committed) >= MIN_SAMPLES);
    stop = true;
    await Promise.all(clients);

    expect(change.disabled).toEqual([violating.record.id]);
    const bad = samples.filter((s) => s.key === 'violating');
    const before = bad.filter((s) => s.end < changeStart);
    const inFlight = bad.filter((s) => s.end >= changeStart && s.start <= committed);
    const after = bad.filter((s) => s.start > committed);
    const figures = {
      database: t.dataSource.options.type,
      cache: options.cache !== undefined,
      requests: samples.length,
      violatingBefore200: before.filter((s) => s.status === 200).length,
      violatingDuringChange: inFlight.length,
      violatingDuringChange200: inFlight.filter((s) => s.status === 200).length,
      violatingAfterCommit: after.length,
      violatingAfterCommit200: after.filter((s) => s.status === 200).length,
      compliantAfterCommitNot200: samples.filter(
        (s) => s.key === 'compliant' && s.start > committed && s.status !== 200,
      ).length,
      changeMs: Math.round(committed - changeStart),
    };
    console.log(`owner policy tightened under load: ${JSON.stringify(figures)}`);
    expect(figures.violatingBefore200).toBe(before.length);
    expect(figures.violatingBefore200).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThanOrEqual(MIN_SAMPLES);
    expect(after.every((s) => s.status === 401)).toBe(true);
    expect(figures.violatingAfterCommit200).toBe(0);
    expect(figures.compliantAfterCommitNot200).toBe(0);
  }

  it('answers no request started after the policy change committed with 200 for the refused key', async () => {
    await tightenUnderLoad({ lastUsedIntervalMs: 0, rateLimit: undefined });
  });

  it('does the same with the lookup cache on (the change drops the cached row)', async () => {
    await tightenUnderLoad({ cache: { ttlMs: 60_000 } });
  });
});
