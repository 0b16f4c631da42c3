import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { ApiKeyModule, ApiKeyService, redisInvalidationBus } from 'nestjs-opaque-keys';
import type { INestApplication } from '@nestjs/common';
import { startInstance, type InstanceProcess } from '../support/child/instances.js';
import { freePort, PrivateRedis } from '../support/child/redis-server.js';
import { get, percentiles, sleep, type Outcome } from '../support/replica.js';

/**
 * Three app instances as three processes on one PostgreSQL schema, rate limits counted in one Redis and the
 * lookup cache invalidated through it. The suite starts its own Redis (so it can stop it) and its own schema
 * on the local PostgreSQL (DB_URL's server, default 127.0.0.1:5432). Run with `npm run test:redis`.
 */
const DB_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `apikeys_three_${process.pid}`;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let redis: PrivateRedis;
let instances: InstanceProcess[] = [];
let admin: INestApplication;
let service: ApiKeyService;
const adminClients: Redis[] = [];

async function sql(text: string): Promise<void> {
  const dataSource = new DataSource({ type: 'postgres', url: DB_URL, extra: { connectionTimeoutMillis: 5000 } });
  await dataSource.initialize().catch((error: Error) => {
    throw new Error(`the three-instance suite needs PostgreSQL at ${DB_URL} (set POSTGRES_URL): ${error.message}`);
  });
  try {
    await dataSource.query(text);
  } finally {
    await dataSource.destroy();
  }
}

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  await sql(`CREATE SCHEMA ${schema}`);
  const client = () => {
    const c = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => 200 });
    c.on('error', () => undefined);
    adminClients.push(c);
    return c;
  };
  // The operator's instance: creates the tables, issues and revokes (publishing invalidations through Redis).
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: DB_URL,
        schema,
        extra: { options: `-c search_path=${schema}` },
        autoLoadEntities: true,
        synchronize: true,
        retryAttempts: 0,
      }),
      ApiKeyModule.forRoot({
        cache: { ttlMs: 60_000, invalidation: redisInvalidationBus({ publisher: client(), subscriber: client() }) },
      }),
    ],
  }).compile();
  admin = moduleRef.createNestApplication({ logger: false });
  await admin.init();
  service = admin.get(ApiKeyService);
  instances = await Promise.all(
    [1, 2, 3].map(() => startInstance({ dbUrl: DB_URL, schema, redisUrl: redis.url, cacheTtlMs: 60_000 })),
  );
}, 180_000);

afterAll(async () => {
  agent.destroy();
  await Promise.all(instances.map((i) => i.stop()));
  await admin?.close();
  for (const c of adminClients) c.disconnect();
  await redis?.stop();
  await sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

/** `perInstance` requests to each instance, 8 at a time per instance, all at once. */
async function spread(path: string, key: string, perInstance: number): Promise<Outcome[]> {
  const all = await Promise.all(
    instances.map(async (instance) => {
      const outcomes: Outcome[] = [];
      let sent = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (sent++ < perInstance) outcomes.push(await get(agent, instance.port, path, key));
        }),
      );
      return outcomes;
    }),
  );
  return all.flat();
}
const count = (outcomes: Outcome[], status: number) => outcomes.filter((o) => o.status === status).length;

describe('three instances, rate limits in Redis (npm run test:redis)', () => {
  it('are three processes', () => {
    expect(new Set(instances.map((i) => i.child.pid)).size).toBe(3);
  });

  it('a limit of N per window admits exactly N across the three, under concurrent load', async () => {
    for (const limit of [30, 75]) {
      const { key } = await service.issue({
        name: `limited-${limit}`,
        scopes: ['orders:read'],
        rateLimit: { limit, windowMs: 60_000 },
      });
      const outcomes = await spread('/orders', key, 50);
      console.log(`[three instances] limit ${limit}: 200 x${count(outcomes, 200)}, 429 x${count(outcomes, 429)}`);
      expect(count(outcomes, 200)).toBe(limit);
      expect(count(outcomes, 429)).toBe(150 - limit);
    }
  });

  it('credits are exact across the three: spent = admitted, balance 0', async () => {
    const { key, record } = await service.issue({ name: 'credits', scopes: [], credits: { remaining: 100 } });
    const outcomes = await spread('/ping', key, 60);
    const admitted = count(outcomes, 200);
    console.log(
      `[three instances] credits 100: 200 x${admitted}, others ${JSON.stringify(outcomes.filter((o) => o.status !== 200).length)}`,
    );
    expect(admitted).toBe(100);
    expect(count(outcomes, 401)).toBe(80);
    expect((await service.get(record.id)).remainingUses).toBe(0);
  });

  it('Redis stops: limited keys fail closed (503, Retry-After) on all three, others pass; it comes back: recovery without restart', async () => {
    const limited = await service.issue({
      name: 'limited',
      scopes: ['orders:read'],
      rateLimit: { limit: 10_000, windowMs: 60_000 },
    });
    const free = await service.issue({ name: 'free', scopes: ['orders:read'] });
    expect(count(await spread('/orders', limited.key, 4), 200)).toBe(12);
    await redis.stop();
    try {
      const during = await spread('/orders', limited.key, 10);
      expect(count(during, 200)).toBe(0);
      expect(count(during, 503)).toBe(30);
      expect(new Set(during.map((o) => o.retryAfter))).toEqual(new Set(['5']));
      expect(count(await spread('/orders', free.key, 5), 200)).toBe(15);
    } finally {
      await redis.start();
    }
    const back = performance.now();
    for (const instance of instances)
      while ((await get(agent, instance.port, '/orders', limited.key)).status !== 200) {
        if (performance.now() - back > 20_000) throw new Error('no recovery within 20 s');
        await sleep(50);
      }
    console.log(`[three instances] Redis back: all three pass again after ${Math.round(performance.now() - back)} ms`);
    expect(count(await spread('/orders', limited.key, 10), 200)).toBe(30);
  });

  it('cache invalidation through Redis: staleness of a revocation on the other instances (p50, p99, max)', async () => {
    const staleness: number[] = [];
    let passed = 0;
    for (let i = 0; i < 20; i++) {
      const { key, record } = await service.issue({ name: `cached-${i}`, scopes: ['orders:read'] });
      for (const instance of instances) expect((await get(agent, instance.port, '/orders', key)).status).toBe(200);
      await service.revoke(record.id, 'staleness');
      const resolved = performance.now();
      await Promise.all(
        instances.map(async (instance) => {
          let last = -1;
          for (let refused = 0; refused < 3;) {
            const outcome = await get(agent, instance.port, '/orders', key);
            if (outcome.status === 200) {
              passed++;
              refused = 0;
              last = outcome.start - resolved;
            } else refused++;
            if (performance.now() - resolved > 10_000) throw new Error('a revoked key kept passing for 10 s');
          }
          staleness.push(Math.max(0, last));
        }),
      );
    }
    const figures = percentiles(staleness);
    console.log(
      `[three instances] cache invalidation staleness (ms): ${JSON.stringify(figures)}, passes after revoke ${passed}`,
    );
    expect(figures.max).toBeLessThan(1000);
  });

  it('left no unhandled rejection in any instance', () => {
    for (const instance of instances) expect(instance.stderr.join('')).not.toContain('UNHANDLED REJECTION');
  });
});
