import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import type { QueryRunner, Logger as TypeOrmLogger } from 'typeorm';
import { OrdersController } from '../support/controllers.js';
import { testSchema } from '../support/database.js';
import {
  backgroundLoad,
  get,
  percentiles,
  pgReplica,
  requireStreaming,
  revocationStaleness,
  SHARED,
  sleep,
  startReplicaApp,
  type ReplicaApp,
} from '../support/replica.js';

/**
 * A real PostgreSQL streaming replica (5433, streaming from the shared primary on 5432; made by
 * .ci/pg-replica.sh): the guard's reads with `readFrom: 'primary'` and `'replica'`, measured under load,
 * and the `maxReplicaLagMs` bound against a replica made to lag (`recovery_min_apply_delay`).
 * Run with `npm run test:replica`.
 */
const REVOCATIONS = 20;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let schema: string;

beforeAll(async () => {
  await requireStreaming(SHARED);
  schema = testSchema();
});

afterAll(() => {
  agent.destroy();
  pgReplica('delay', String(SHARED.replica), '0');
});

/** Revocations measured while 8 closed loops of valid-key requests keep the app busy. */
async function measureUnderLoad(target: ReplicaApp, label: string, revocations = REVOCATIONS) {
  const keys = await Promise.all(
    Array.from(
      { length: 4 },
      async (_, i) => (await target.service.issue({ name: `load-${i}`, scopes: ['orders:read'] })).key,
    ),
  );
  // Replicated before the load starts.
  for (const key of keys) while ((await get(agent, target.port, '/orders', key)).status !== 200) await sleep(20);
  const load = backgroundLoad(agent, target.port, '/orders', keys, 8);
  const started = performance.now();
  const result = await revocationStaleness(target, agent, revocations);
  const seconds = (performance.now() - started) / 1000;
  const loadStatuses = await load.stop();
  const served = Object.values(loadStatuses).reduce((a, b) => a + b, 0);
  const figures = {
    passedAfterCommit: result.passedAfterCommit,
    stalenessMs: percentiles(result.stalenessMs),
    probeStatuses: result.statuses,
    load: { statuses: loadStatuses, perSecond: Math.round(served / seconds) },
  };
  console.log(`[replica] ${label}: ${JSON.stringify(figures)}`);
  expect(Object.keys(loadStatuses)).toEqual(['200']);
  return figures;
}

describe("readFrom: 'primary' with a real streaming replica (npm run test:replica)", () => {
  let target: ReplicaApp;
  beforeAll(async () => {
    target = await startReplicaApp(SHARED, schema, {}, [OrdersController]);
  });
  afterAll(() => target?.close());

  it('accepts 0 requests after a revocation committed, under load', async () => {
    const figures = await measureUnderLoad(target, 'readFrom primary');
    expect(figures.passedAfterCommit).toBe(0);
    expect(figures.stalenessMs.max).toBe(0);
  });
});

describe("readFrom: 'replica' with a real streaming replica (npm run test:replica)", () => {
  let target: ReplicaApp;
  beforeAll(async () => {
    target = await startReplicaApp(SHARED, schema, { readFrom: 'replica' }, [OrdersController]);
  });
  afterAll(() => target?.close());

  it('measures how long a revoked key keeps passing, under load (bounded by the replica lag)', async () => {
    const figures = await measureUnderLoad(target, 'readFrom replica, no bound');
    // Streaming on one machine: milliseconds, never seconds.
    expect(figures.stalenessMs.max).toBeLessThan(1000);
  });

  it('with the replica 500 ms behind, a revoked key passes for about that long: the lag is the staleness', async () => {
    pgReplica('delay', String(SHARED.replica), '500ms');
    try {
      const figures = await measureUnderLoad(target, 'readFrom replica, no bound, replica 500 ms behind', 8);
      expect(figures.passedAfterCommit).toBeGreaterThan(0);
      expect(figures.stalenessMs.p50).toBeGreaterThan(200);
      expect(figures.stalenessMs.max).toBeLessThan(1500);
    } finally {
      pgReplica('delay', String(SHARED.replica), '0');
    }
  });

  it('runs every write on the primary: issue, rotate, revoke, limits, credits (the replica refuses writes)', async () => {
    const modes: string[] = [];
    const logger: TypeOrmLogger = {
      logQuery: (sql: string, _p?: unknown[], runner?: QueryRunner) => {
        if (/^\s*(INSERT|UPDATE|DELETE)/i.test(sql)) modes.push(runner?.getReplicationMode() ?? 'master');
      },
      logQueryError: () => undefined,
      logQuerySlow: () => undefined,
      logSchemaBuild: () => undefined,
      logMigration: () => undefined,
      log: () => undefined,
    };
    Object.assign(target.dataSource, { logger });
    Object.assign(target.dataSource.options, { logging: true });
    const { service } = target;
    const issued = await service.issue({ name: 'writes', scopes: ['orders:read'], credits: { remaining: 5 } });
    await service.update(issued.record.id, { rateLimit: { limit: 10, windowMs: 60_000 } });
    await service.addCredits(issued.record.id, 3);
    const rotated = await service.rotate(issued.record.id, { gracePeriodMs: 60_000 });
    await service.revoke(rotated.record.id, 'done');
    expect(modes.length).toBeGreaterThanOrEqual(5);
    expect(new Set(modes)).toEqual(new Set(['master']));
    expect((await service.get(rotated.record.id)).revokedAt).toBeInstanceOf(Date);
  });
});

describe('maxReplicaLagMs with a replica made to lag (npm run test:replica)', () => {
  let target: ReplicaApp;
  const MAX_LAG = 200;
  const INTERVAL = 100;
  beforeAll(async () => {
    target = await startReplicaApp(
      SHARED,
      schema,
      { readFrom: 'replica', maxReplicaLagMs: MAX_LAG, replicaLagCheckIntervalMs: INTERVAL },
      [OrdersController],
      { join: true },
    );
  });
  afterAll(() => target?.close());

  it('reads the replica while it is within the bound', async () => {
    await sleep(3 * INTERVAL);
    const reading = target.store.stats!.replicaLag!;
    expect(reading.onReplica).toBe(true);
    expect(reading.lagMs).toBeLessThanOrEqual(MAX_LAG);
    expect(target.logs.lines.some((line) => line.includes('key lookups read the replica'))).toBe(true);
  });

  it('past the bound, sends lookups to the primary (log line, metric); a revoked key passes at most maxReplicaLagMs + the interval', async () => {
    pgReplica('delay', String(SHARED.replica), '1500ms');
    try {
      // A trickle of writes, as a live system has: each one is a commit the replica holds back.
      let writing = true;
      const writes = (async () => {
        while (writing) {
          await target.service.issue({ name: 'trickle', scopes: [] });
          await sleep(20);
        }
      })();
      try {
        const figures = await measureUnderLoad(
          target,
          `readFrom replica, maxReplicaLagMs ${MAX_LAG}, replica 1.5 s behind`,
        );
        const reading = target.store.stats!.replicaLag!;
        expect(reading.onReplica).toBe(false);
        expect(reading.bypasses).toBeGreaterThan(0);
        expect(
          target.logs.lines.some((line) => /over maxReplicaLagMs \(200\): key lookups read the primary/.test(line)),
        ).toBe(true);
        expect(figures.stalenessMs.max).toBeLessThanOrEqual(MAX_LAG + INTERVAL + 150);
      } finally {
        writing = false;
        await writes;
      }
    } finally {
      pgReplica('delay', String(SHARED.replica), '0');
    }
    // Caught up again: back on the replica, without a restart.
    for (let i = 0; i < 50 && !target.store.stats!.replicaLag!.onReplica; i++) await sleep(100);
    expect(target.store.stats!.replicaLag!.onReplica).toBe(true);
  });
});
