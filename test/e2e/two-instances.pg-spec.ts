import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IssuedApiKey } from 'nestjs-api-keys';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances (two Nest apps, two connection pools, no shared memory)
 * on one PostgreSQL schema. A steady stream of requests hits instance B while
 * instance A revokes the key or removes a scope: no request that *starts*
 * after the change has resolved may pass. Run with `npm run test:faults`.
 */

interface Sample {
  start: number;
  end: number;
  status: number;
}

describe('two instances on one PostgreSQL schema (npm run test:faults)', () => {
  let a: TestApp;
  let b: TestApp;
  let portB: number;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  function get(port: number, path: string, apiKey: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, agent, headers: { 'x-api-key': apiKey } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Streams requests (8 at a time) at instance B; after `warmupMs` runs `change`
   * through instance A, then keeps streaming for `afterMs`. Returns every
   * request's start/end/status and when the change was called and resolved.
   */
  async function streamAround(path: string, apiKey: string, change: () => Promise<unknown>, warmupMs = 400, afterMs = 600) {
    const samples: Sample[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    const workers = Array.from({ length: 8 }, async () => {
      while (performance.now() < stopAt) {
        const start = performance.now();
        const status = await get(portB, path, apiKey);
        samples.push({ start, end: performance.now(), status });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, warmupMs));
    const called = performance.now();
    await change();
    const resolved = performance.now();
    stopAt = resolved + afterMs;
    await Promise.all(workers);
    const count = (list: Sample[]) => list.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
    return {
      before: count(samples.filter((s) => s.end < called)),
      overlapping: count(samples.filter((s) => s.end >= called && s.start <= resolved)),
      after: count(samples.filter((s) => s.start > resolved)),
      changeMs: Math.round(resolved - called),
    };
  }

  beforeAll(async () => {
    if (testDatabase() !== 'postgres') {
      throw new Error(`the two-instance suite needs DB_TYPE=postgres (got ${testDatabase()}): run it with npm run test:faults`);
    }
    a = await createTestApp({ controllers: [OrdersController] });
    b = await createTestApp({ controllers: [OrdersController], joinDatabase: true });
    await b.app.listen(0, '127.0.0.1');
    portB = (b.app.getHttpServer().address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    await b?.close();
    await a?.close();
  });

  it('really is two instances on one schema: separate pools, same rows', async () => {
    expect(a.dataSource).not.toBe(b.dataSource);
    expect(b.dataSource.options.type).toBe('postgres');
    const issued = await a.service.issue({ name: 'shared', scopes: ['orders:read'] });
    expect((await b.service.get(issued.record.id)).name).toBe('shared');
    const [pidA] = await a.dataSource.query('SELECT pg_backend_pid() AS pid');
    const [pidB] = await b.dataSource.query('SELECT pg_backend_pid() AS pid');
    expect(pidA.pid).not.toBe(pidB.pid);
  });

  it('revoke through A: no request to B that starts after revoke resolved passes', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'streamed', scopes: ['orders:read'] });
    const result = await streamAround('/orders', key.key, () => a.service.revoke(key.record.id, 'two-instance test'));
    console.log(`[two-instances] revoke: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(10);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['401']);
    expect(result.after[401]).toBeGreaterThan(10);
  });

  it('scope removal through A: no request to B that starts after updateScopes resolved passes', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'narrowed', scopes: ['orders:read', 'orders:write'] });
    const result = await streamAround('/orders', key.key, () => a.service.updateScopes(key.record.id, ['orders:write']));
    console.log(`[two-instances] scope removal: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(10);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['403']);
    expect(result.after[403]).toBeGreaterThan(10);
  });

  it('rotation without grace through A: the old key stops on B for every request that starts after rotate resolved', async () => {
    const key: IssuedApiKey = await a.service.issue({ name: 'rotated', scopes: ['orders:read'] });
    let successor = '';
    const result = await streamAround('/orders', key.key, async () => {
      successor = (await a.service.rotate(key.record.id)).key;
    });
    console.log(`[two-instances] rotation: ${JSON.stringify(result)}`);
    expect(result.before[200]).toBeGreaterThan(10);
    expect(result.after[200] ?? 0).toBe(0);
    expect(Object.keys(result.after)).toEqual(['401']);
    expect(await get(portB, '/orders', successor)).toBe(200);
  });
});
