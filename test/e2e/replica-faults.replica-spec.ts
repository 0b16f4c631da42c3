import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import type { ApiKeyModuleOptions, IssuedApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { testSchema } from '../support/database.js';
import {
  get,
  pgReplica,
  requireStreaming,
  SHARED,
  sleep,
  startReplicaApp,
  THROWAWAY,
  type Outcome,
  type ReplicaApp,
} from '../support/replica.js';

/**
 * Servers stopping under a replicated DataSource: the replica (5433, the shared primary's replica) stops and
 * comes back; the primary stops and comes back, on the throwaway pair (5434 and its replica 5435), never
 * the shared primary that other suites use. Fail closed (503 with Retry-After, never a pass of a revoked
 * key), and recover without a restart. Run with `npm run test:replica`.
 */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });

afterAll(() => {
  agent.destroy();
  // Whatever happened above, both servers run again for the suites that follow.
  pgReplica('start', String(SHARED.replica));
  pgReplica('start', String(THROWAWAY.primary));
});

/** `count` requests, 4 at a time. */
async function burst(target: ReplicaApp, key: string, count = 40): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent++ < count) outcomes.push(await get(agent, target.port, '/orders', key));
    }),
  );
  return outcomes;
}

const statuses = (outcomes: Outcome[]) => [...new Set(outcomes.map((o) => o.status))].sort();

/** Polls until the key gets `status` (at most 30 s): the time it took. */
async function until(target: ReplicaApp, key: string, status: number): Promise<number> {
  const started = performance.now();
  while ((await get(agent, target.port, '/orders', key)).status !== status) {
    if (performance.now() - started > 30_000) throw new Error(`no ${status} within 30 s`);
    await sleep(100);
  }
  return Math.round(performance.now() - started);
}

describe.each([
  ['without a lag bound', {}],
  ['with maxReplicaLagMs', { maxReplicaLagMs: 200, replicaLagCheckIntervalMs: 100 }],
] as [string, ApiKeyModuleOptions][])('the replica stops and comes back, readFrom replica %s', (label, extra) => {
  let target: ReplicaApp;
  let valid: IssuedApiKey;
  let revoked: IssuedApiKey;

  beforeAll(async () => {
    await requireStreaming(SHARED);
    target = await startReplicaApp(SHARED, testSchema(), { readFrom: 'replica', ...extra }, [OrdersController]);
    valid = await target.service.issue({ name: 'valid', scopes: ['orders:read'] });
    revoked = await target.service.issue({ name: 'revoked', scopes: ['orders:read'] });
    await until(target, valid.key, 200);
  });
  afterAll(() => target?.close());

  it('fails closed while it is down, and recovers without a restart', async () => {
    pgReplica('stop', String(SHARED.replica));
    try {
      // Revoked during the outage: the write goes to the primary.
      await target.service.revoke(revoked.record.id, 'outage');
      const during = [...(await burst(target, valid.key)), ...(await burst(target, revoked.key))];
      const revokedDuring = during.slice(40);
      expect(revokedDuring.filter((o) => o.status === 200)).toHaveLength(0);
      if (extra.maxReplicaLagMs === undefined) {
        // Nowhere to read: 503 with Retry-After for every request, never a pass.
        expect(statuses(during)).toEqual([503]);
        expect(new Set(during.map((o) => o.retryAfter))).toEqual(new Set(['2']));
      } else {
        // The bound sends lookups to the primary once a check fails: the valid key passes, the revoked one does not.
        await until(target, valid.key, 200);
        expect(statuses(await burst(target, valid.key))).toEqual([200]);
        expect(statuses(await burst(target, revoked.key))).toEqual([401]);
        expect(target.store.stats!.replicaLag!.onReplica).toBe(false);
        expect(target.logs.lines.some((l) => l.includes("the replica's lag could not be measured"))).toBe(true);
      }
    } finally {
      pgReplica('start', String(SHARED.replica));
    }
    const recoveryMs = await until(target, valid.key, 200);
    console.log(`[replica faults] replica back, ${label}: first pass after ${recoveryMs} ms`);
    expect(statuses(await burst(target, valid.key))).toEqual([200]);
    expect(statuses(await burst(target, revoked.key))).toEqual([401]);
    if (extra.maxReplicaLagMs !== undefined) {
      for (let i = 0; i < 100 && !target.store.stats!.replicaLag!.onReplica; i++) await sleep(100);
      expect(target.store.stats!.replicaLag!.onReplica).toBe(true);
    }
  });
});

describe.each([
  ["readFrom 'primary'", {}],
  [
    "readFrom 'replica' with maxReplicaLagMs",
    { readFrom: 'replica', maxReplicaLagMs: 200, replicaLagCheckIntervalMs: 100 },
  ],
] as [string, ApiKeyModuleOptions][])(
  'the primary stops and comes back (throwaway pair 5434/5435), %s',
  (label, options) => {
    let target: ReplicaApp;
    let valid: IssuedApiKey;

    beforeAll(async () => {
      await requireStreaming(THROWAWAY);
      target = await startReplicaApp(THROWAWAY, 'public', options, [OrdersController]);
      valid = await target.service.issue({ name: 'valid', scopes: ['orders:read'] });
      await until(target, valid.key, 200);
    });
    afterAll(() => target?.close());

    it('fails closed (503 with Retry-After, never a pass), writes fail, and it recovers without a restart', async () => {
      pgReplica('stop', String(THROWAWAY.primary));
      try {
        await sleep(400); // the lag check fails meanwhile (with the bound)
        const during = await burst(target, valid.key);
        expect(statuses(during)).toEqual([503]);
        expect(new Set(during.map((o) => o.retryAfter))).toEqual(new Set(['2']));
        await expect(target.service.issue({ name: 'no primary', scopes: [] })).rejects.toMatchObject({
          code: 'ERR_API_KEY_STORE_UNAVAILABLE',
        });
      } finally {
        pgReplica('start', String(THROWAWAY.primary));
      }
      const recoveryMs = await until(target, valid.key, 200);
      console.log(`[replica faults] primary back, ${label}: first pass after ${recoveryMs} ms`);
      const issued = await target.service.issue({ name: 'after', scopes: ['orders:read'] });
      await target.service.revoke(issued.record.id, 'after');
      await sleep(300);
      expect(statuses(await burst(target, issued.key))).toEqual([401]);
      expect(statuses(await burst(target, valid.key))).toEqual([200]);
      // The replica reconnects to the restarted primary by itself.
      await requireStreaming(THROWAWAY);
    });
  },
);
