/**
 * The soak: a bounded run of mixed traffic on PostgreSQL against two instance processes
 * (test/support/child/instance.ts), rate limits in a private Redis, an operator in this process.
 *
 *   nice -n 10 node --import ./test/support/child/ts-register.mjs bench/soak.ts [--seconds=600] [--workers=16]
 *
 * Traffic: valid keys, forged keys, keys revoked during the run, rotations with a grace period, credit
 * spends, rate-limited keys, console reads (list and audit trail). Every answer is checked against what
 * its key's state allows when the request started; afterwards: unexpected statuses, requests accepted
 * after their key's revocation committed, credits spent vs admitted, RSS and pool size over time, unhandled
 * rejections. Writes bench/results/soak-<time>.json; exits 1 if any check failed. Needs PostgreSQL
 * (POSTGRES_URL, default 127.0.0.1:5432/test) and redis-server.
 *
 * `--mix=verify` sends only valid-key requests (no operator, no forged, credit or limited keys): the cost of
 * a verified request. `--pgdata=DIR` (a cluster's data directory, readable) adds the database server's CPU
 * per request: the CPU time of the postmaster's children (from its postmaster.pid), before and after.
 */
import 'reflect-metadata';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKeyModule, ApiKeyService, type IssuedApiKey } from '../lib/index.js';
import { startInstance, type InstanceProcess } from '../test/support/child/instances.js';
import { freePort, PrivateRedis } from '../test/support/child/redis-server.js';
import { get, sleep } from '../test/support/replica.js';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SECONDS = arg('seconds', 600);
const WORKERS = arg('workers', 16);
const DB_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `soak_${process.pid}`;
const GRACE_MS = 3000;
const VERIFY_ONLY = process.argv.includes('--mix=verify');
const PGDATA = process.argv.find((a) => a.startsWith('--pgdata='))?.slice('--pgdata='.length);

/** CPU time (µs) of every child of the cluster's postmaster (its backends and workers), from /proc. */
function databaseCpuUs(): number | undefined {
  if (!PGDATA) return undefined;
  const postmaster = readFileSync(`${PGDATA}/postmaster.pid`, 'utf8').split('\n')[0].trim();
  const tick = 1e6 / 100; // USER_HZ
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[1] !== postmaster && pid !== postmaster) continue;
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('unhandled rejection', reason);
});

/** A key in play and what its answers may be. */
interface Tracked {
  kind: 'valid' | 'victim' | 'rotated' | 'credits' | 'limited';
  issued: IssuedApiKey;
  /** victim: revoke resolved at (performance.now()); rotated: grace over at. */
  closedAt?: number;
  /** victim: revoke called at; rotated: rotate called at. */
  closingAt?: number;
}

async function main(): Promise<void> {
  const redis = new PrivateRedis(await freePort());
  await redis.start();
  const ds = new DataSource({ type: 'postgres', url: DB_URL });
  await ds.initialize();
  await ds.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: DB_URL,
        schema,
        extra: { options: `-c search_path=${schema}`, max: 4 },
        autoLoadEntities: true,
        synchronize: true,
        retryAttempts: 0,
      }),
      ApiKeyModule.forRoot({}),
    ],
  }).compile();
  const bootstrap = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  await bootstrap.init();
  const service = bootstrap.get(ApiKeyService);
  const instances: InstanceProcess[] = await Promise.all(
    [1, 2].map(() => startInstance({ dbUrl: DB_URL, schema, redisUrl: redis.url, poolSize: 10 }, 10)),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  const keys: Tracked[] = [];
  const issue = async (kind: Tracked['kind'], extra: object = {}) => {
    const issued = await service.issue({ name: `${kind}-${keys.length}`, scopes: ['orders:read'], ...extra });
    keys.push({ kind, issued });
    return keys.at(-1)!;
  };
  for (let i = 0; i < 20; i++) await issue('valid');
  for (let i = 0; i < 10; i++) await issue('limited', { rateLimit: { limit: 20, windowMs: 5000 } });
  const creditKeys: Tracked[] = [];
  const CREDITS = 300;
  for (let i = 0; i < 10; i++) creditKeys.push(await issue('credits', { credits: { remaining: CREDITS } }));
  const forged = keys[0].issued.key.slice(0, -6) + 'AAAAAA';

  const tally = { requests: 0, unexpected: 0, acceptedAfterRevocation: 0, statuses: {} as Record<string, number> };
  const unexpected: string[] = [];
  const admitted = new Map<string, number>();
  const samples: { t: number; instance: number; rssMb: number; heapMb: number; pool: number }[] = [];
  const cpuBefore = await Promise.all(instances.map(async (i) => (await i.stats()).cpuUs));
  const dbCpuBefore = databaseCpuUs();
  const started = performance.now();
  const end = started + SECONDS * 1000;
  let consoleReads = 0;
  let revocations = 0;
  let rotations = 0;

  const check = (what: string, status: number, allowed: number[]) => {
    tally.statuses[`${what}:${status}`] = (tally.statuses[`${what}:${status}`] ?? 0) + 1;
    if (!allowed.includes(status)) {
      tally.unexpected++;
      if (unexpected.length < 20) unexpected.push(`${what} got ${status}, allowed ${allowed.join('/')}`);
    }
  };

  const worker = async (w: number) => {
    for (let n = w; performance.now() < end; n++) {
      const instance = instances[n % instances.length];
      const roll = VERIFY_ONLY ? 1 : Math.random();
      tally.requests++;
      if (roll < 0.1) {
        check('forged', (await get(agent, instance.port, '/orders', forged)).status, [401]);
      } else if (roll < 0.25) {
        const key = creditKeys[n % creditKeys.length];
        const { status } = await get(agent, instance.port, '/ping', key.issued.key);
        check('credits', status, [200, 401]);
        if (status === 200) admitted.set(key.issued.record.id, (admitted.get(key.issued.record.id) ?? 0) + 1);
      } else {
        const pool = keys.filter((k) => (VERIFY_ONLY ? k.kind === 'valid' : k.kind !== 'credits'));
        const key = pool[Math.floor(Math.random() * pool.length)];
        const { status, start, end: answered } = await get(agent, instance.port, '/orders', key.issued.key);
        if (key.kind === 'valid') check('valid', status, [200]);
        else if (key.kind === 'limited') check('limited', status, [200, 429]);
        else if (key.closedAt !== undefined && start > key.closedAt) {
          check(key.kind, status, [401]);
          if (status === 200 && key.kind === 'victim') tally.acceptedAfterRevocation++;
        } else if (key.closingAt !== undefined && answered >= key.closingAt) check(key.kind, status, [200, 401]);
        else check(key.kind, status, [200]);
      }
    }
  };

  const operator = async () => {
    for (let tick = 0; performance.now() < end && !VERIFY_ONLY; tick++) {
      await sleep(500);
      // Console reads: the key list and one key's audit trail.
      await service.list({ limit: 50 });
      await service.listEvents({ keyId: keys[tick % keys.length].issued.record.id });
      consoleReads += 2;
      if (tick % 4 === 0) {
        const victim = await issue('victim');
        await sleep(300);
        victim.closingAt = performance.now();
        await service.revoke(victim.issued.record.id, 'soak');
        victim.closedAt = performance.now();
        revocations++;
      }
      if (tick % 10 === 5) {
        const old = await issue('rotated');
        await sleep(300);
        old.closingAt = performance.now();
        const successor = await service.rotate(old.issued.record.id, { gracePeriodMs: GRACE_MS });
        // The grace ends GRACE_MS after the rotation committed; 200 ms of clock margin.
        old.closedAt = performance.now() + GRACE_MS + 200;
        keys.push({ kind: 'valid', issued: successor });
        rotations++;
      }
    }
  };

  const sampler = async () => {
    while (performance.now() < end) {
      for (const [i, instance] of instances.entries()) {
        const stats = await instance.stats();
        samples.push({
          t: Math.round((performance.now() - started) / 1000),
          instance: i,
          rssMb: Math.round(stats.rss / 1e5) / 10,
          heapMb: Math.round(stats.heap / 1e5) / 10,
          pool: stats.pool,
        });
      }
      await sleep(Math.min(10_000, (SECONDS * 1000) / 12));
    }
  };

  await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), operator(), sampler()]);
  const seconds = (performance.now() - started) / 1000;
  const dbCpuAfter = databaseCpuUs();
  const cpuAfter = await Promise.all(instances.map(async (i) => (await i.stats()).cpuUs));
  const appCpuUs = cpuAfter.reduce((a, c, i) => a + c - cpuBefore[i], 0);

  // Credits: what the database says was spent must equal what was admitted.
  const credits = await Promise.all(
    creditKeys.map(async (k) => {
      const record = await service.get(k.issued.record.id);
      return { spent: CREDITS - (record.remainingUses ?? 0), admitted: admitted.get(k.issued.record.id) ?? 0 };
    }),
  );
  const creditsExact = credits.every((c) => c.spent === c.admitted);
  for (const instance of instances) await instance.stop();
  const instanceRejections = instances.reduce(
    (n, i) => n + (i.stderr.join('').match(/UNHANDLED REJECTION/g) ?? []).length,
    0,
  );
  await bootstrap.close();
  await ds.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await ds.destroy();
  await redis.stop();
  agent.destroy();

  const report = {
    at: new Date().toISOString(),
    seconds: Math.round(seconds),
    workers: WORKERS,
    requests: tally.requests,
    perSecond: Math.round(tally.requests / seconds),
    mix: VERIFY_ONLY ? 'verify' : 'mixed',
    appCpuUsPerRequest: Math.round(appCpuUs / tally.requests),
    dbCpuUsPerRequest:
      dbCpuBefore === undefined || dbCpuAfter === undefined
        ? undefined
        : Math.round((dbCpuAfter - dbCpuBefore) / tally.requests),
    revocations,
    rotations,
    consoleReads,
    unexpected: tally.unexpected,
    unexpectedSamples: unexpected,
    acceptedAfterRevocation: tally.acceptedAfterRevocation,
    credits: {
      exact: creditsExact,
      spent: credits.reduce((a, c) => a + c.spent, 0),
      admitted: credits.reduce((a, c) => a + c.admitted, 0),
    },
    unhandledRejections: unhandled + instanceRejections,
    samples,
    statuses: tally.statuses,
  };
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/soak-${report.at.replace(/[:.]/g, '-').slice(0, 19)}.json`;
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const { samples: _s, statuses: _st, ...summary } = report;
  console.log(JSON.stringify(summary, null, 2));
  for (const i of [0, 1]) {
    const mine = samples.filter((s) => s.instance === i);
    console.log(
      `instance ${i + 1}: RSS MB ${mine.map((s) => s.rssMb).join(' ')}; pool ${mine.map((s) => s.pool).join(' ')}`,
    );
  }
  console.log(`written to ${file}`);
  const ok =
    report.unexpected === 0 && report.acceptedAfterRevocation === 0 && creditsExact && report.unhandledRejections === 0;
  process.exit(ok ? 0 : 1);
}

await main();
