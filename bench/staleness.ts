/**
 * Staleness and gain of the lookup cache (the `cache` option) on PostgreSQL,
 * in one process: two Nest apps (A and B, two pools, two listeners) on one
 * schema, both with `cache: { ttlMs: 60000 }` so only LISTEN/NOTIFY can
 * explain B noticing a change within the run.
 *
 *   tsc -p bench/tsconfig.json && node build/bench/bench/staleness.js [trials=50]
 *
 * For each trial: issue a key through A, warm B's cache with it over HTTP,
 * revoke it through A, and poll B over HTTP until it answers 401. Reports the
 * delay from the revoke call and from its resolution to B's first 401
 * (p50/p99/max), then `ApiKeyService.verify` cost on B (cached hot key) against
 * an app without the cache (one read per call). Needs PostgreSQL
 * (BENCH_STALENESS_URL, default postgres://postgres@127.0.0.1:5432/test).
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { ApiKeyGuard, ApiKeyModule, ApiKeyService, Scopes, type ApiKeyModuleOptions } from '../lib/index.js';

const URL = process.env.BENCH_STALENESS_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `apikeys_bench_staleness_${process.pid}`;
const TRIALS = Number(process.argv[2] ?? 50);
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

@Controller()
@UseGuards(ApiKeyGuard)
class BenchController {
  @Get('bench')
  @Scopes('bench:read')
  hit() {
    return { ok: true };
  }
}

async function app(
  options: ApiKeyModuleOptions,
  create: boolean,
): Promise<{ app: INestApplication; service: ApiKeyService; port: number }> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: URL,
        schema: SCHEMA,
        autoLoadEntities: true,
        synchronize: create,
      }),
      ApiKeyModule.forRoot({ lastUsedIntervalMs: 0, ...options }),
    ],
    controllers: [BenchController],
  })
  class BenchModule {}
  const nest = await NestFactory.create(BenchModule, { logger: false });
  await nest.listen(0, '127.0.0.1');
  return { app: nest, service: nest.get(ApiKeyService), port: (nest.getHttpServer().address() as AddressInfo).port };
}

function get(port: number, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/bench', agent, headers: { 'x-api-key': key } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

function quantiles(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (n=${sorted.length})`;
}

/** Median µs per `verify` over 5 reps of `ms` each. */
async function verifyCost(service: ApiKeyService, key: string, ms = 500): Promise<number> {
  const reps: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      await service.verify(key);
      calls++;
    }
    reps.push(((performance.now() - start) * 1000) / calls);
  }
  return reps.sort((x, y) => x - y)[2]!;
}

async function main(): Promise<void> {
  const admin = await new DataSource({ type: 'postgres', url: URL }).initialize();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${SCHEMA}"`);
  const apps: INestApplication[] = [];
  try {
    const cache = { cache: { ttlMs: 60_000 } };
    const a = await app(cache, true);
    const b = await app(cache, false);
    const live = await app({}, false);
    apps.push(a.app, b.app, live.app);

    const fromCall: number[] = [];
    const fromResolve: number[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const { key, record } = await a.service.issue({ name: `trial ${trial}`, scopes: ['bench:read'] });
      if ((await get(b.port, key)) !== 200 || (await get(b.port, key)) !== 200)
        throw new Error('B did not accept a fresh key');
      const called = performance.now();
      await a.service.revoke(record.id);
      const resolved = performance.now();
      while ((await get(b.port, key)) === 200) {
        if (performance.now() - called > 60_000) throw new Error('B never refused the revoked key');
      }
      const refused = performance.now();
      fromCall.push(refused - called);
      fromResolve.push(refused - resolved);
    }
    const { key } = await a.service.issue({ name: 'hot', scopes: ['bench:read'] });
    const cached = await verifyCost(b.service, key);
    const uncached = await verifyCost(live.service, key);

    console.log(`lookup cache on PostgreSQL, two instances, ${TRIALS} revocations through A; B's first 401:`);
    console.log(`  from revoke() called:   ${quantiles(fromCall)}`);
    console.log(`  from revoke() resolved: ${quantiles(fromResolve)} (includes one HTTP round trip to B)`);
    console.log(
      `ApiKeyService.verify on a hot key, one at a time: ${cached.toFixed(1)} µs cached, ${uncached.toFixed(1)} µs live (${(uncached / cached).toFixed(1)}x)`,
    );
  } finally {
    agent.destroy();
    for (const nest of apps.reverse()) await nest.close();
    await admin.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
    await admin.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
