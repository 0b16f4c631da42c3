import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { INestApplication, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyModule, ApiKeyService, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import type { ApiKeyStore } from '../../lib/storage/index.js';
import { API_KEY_STORE } from '../../lib/api-key.constants.js';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { createPlatformApp } from './http-platform.js';
import { LogCapture } from './log-capture.js';

/**
 * The replica suites' servers (`npm run test:replica`, made by .ci/pg-replica.sh): the shared
 * primary on 5432 with its streaming replica on 5433, and a throwaway primary on 5434 with its
 * replica on 5435, which the suites may stop (the shared primary is never stopped).
 */
export const SHARED = { primary: 5432, replica: 5433 } as const;
export const THROWAWAY = { primary: 5434, replica: 5435 } as const;

const SCRIPT = resolve('.ci/pg-replica.sh');

/** Runs .ci/pg-replica.sh with these arguments; its output. */
export function pgReplica(...args: string[]): string {
  return execFileSync('bash', [SCRIPT, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Waits (at most 20 s: a replica reconnects to a restarted primary within `wal_retrieve_retry_interval`, 5 s)
 * until `replica` streams from its primary; fails, saying what to run, if it does not.
 */
export async function requireStreaming(pair: { primary: number; replica: number }): Promise<void> {
  let status = '';
  for (let i = 0; i < 40; i++) {
    status = pgReplica('status', String(pair.replica));
    if (status === 'replica-streaming') return;
    await sleep(500);
  }
  throw new Error(
    `no PostgreSQL replica streaming on 127.0.0.1:${pair.replica} (status: ${status}): ` +
      `run bash .ci/pg-replica.sh up ${pair.primary} ${pair.replica} (npm run test:replica does)`,
  );
}

/** A running app on a primary + replica DataSource, listening on a port. */
export interface ReplicaApp {
  app: INestApplication;
  service: ApiKeyService;
  dataSource: DataSource;
  store: ApiKeyStore;
  logs: LogCapture;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a Nest app whose TypeORM DataSource has `replication`: writes and
 * transactions on `pair.primary`, replica reads on `pair.replica`, in `schema`
 * (created by the caller on the primary; the replica gets it by streaming).
 */
export async function startReplicaApp(
  pair: { primary: number; replica: number },
  schema: string,
  options: ApiKeyModuleOptions,
  controllers: Type[],
  { join = false }: { join?: boolean } = {},
): Promise<ReplicaApp> {
  const url = (port: number) => `postgres://postgres@127.0.0.1:${port}/test`;
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        schema,
        extra: { options: `-c search_path=${schema}`, connectionTimeoutMillis: 2000 },
        replication: { master: { url: url(pair.primary) }, slaves: [{ url: url(pair.replica) }] },
        autoLoadEntities: true,
        synchronize: !join,
        dropSchema: !join,
        retryAttempts: 0,
      } as DataSourceOptions),
      ApiKeyModule.forRoot({ retryAfterSeconds: 2, ...options }),
    ],
    controllers,
  }).compile();
  const app = await createPlatformApp(moduleRef, { logger: logs });
  await app.listen(0, '127.0.0.1');
  return {
    app,
    service: app.get(ApiKeyService),
    dataSource: app.get(DataSource),
    store: app.get<ApiKeyStore>(API_KEY_STORE),
    logs,
    port: (app.getHttpServer().address() as AddressInfo).port,
    close: () => app.close(),
  };
}

/** One request's outcome. */
export interface Outcome {
  start: number;
  end: number;
  status: number;
  retryAfter?: string;
}

/** Background load: `workers` closed loops of GETs with these keys until `stop()`; the statuses it saw. */
export function backgroundLoad(
  agent: Agent,
  port: number,
  path: string,
  keys: string[],
  workers: number,
): { stop(): Promise<Record<number, number>> } {
  let running = true;
  const statuses: Record<number, number> = {};
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = w; running; i++) {
      const { status } = await get(agent, port, path, keys[i % keys.length]);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

/** GET with the key in X-API-Key: status and Retry-After, timed. */
export function get(agent: Agent, port: number, path: string, key: string): Promise<Outcome> {
  const start = performance.now();
  return fetchStatus(agent, port, path, key).then((r) => ({ ...r, start, end: performance.now() }));
}

async function fetchStatus(
  agent: Agent,
  port: number,
  path: string,
  key: string,
  retried = false,
): Promise<{ status: number; retryAfter?: string }> {
  const { request } = await import('node:http');
  // A keep-alive socket the server closed as it was reused: the request never reached the app; sent again once.
  return new Promise<{ status: number; retryAfter?: string }>((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { 'x-api-key': key } }, (res) => {
      res.resume();
      res.on('end', () => done({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string }));
    });
    req.on('error', fail);
    req.end();
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ECONNRESET' || retried) throw error;
    return fetchStatus(agent, port, path, key, true);
  });
}

/** p50, p99 and max of a list of numbers (rounded to 0.1). */
export function percentiles(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const round = (v: number) => Math.round(v * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) };
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per revocation: requests that started after `revoke` resolved and passed, and how long after it the last one started. */
export interface Staleness {
  passedAfterCommit: number;
  stalenessMs: number[];
  statuses: Record<number, number>;
}

/**
 * Issues `count` keys one after another; for each, waits until it passes on the app, revokes it, and probes
 * it with `probes` concurrent closed loops until it has been refused 5 times in a row: every request that
 * started after `revoke` resolved (so after the revocation committed) and passed is counted, and the key's
 * staleness is how long after that the last passing request started (0 when none did).
 */
export async function revocationStaleness(
  target: ReplicaApp,
  agent: Agent,
  count: number,
  probes = 4,
): Promise<Staleness> {
  const result: Staleness = { passedAfterCommit: 0, stalenessMs: [], statuses: {} };
  for (let i = 0; i < count; i++) {
    const issued = await target.service.issue({ name: `stale-${i}`, scopes: ['orders:read'] });
    for (let tries = 0; (await get(agent, target.port, '/orders', issued.key)).status !== 200; tries++) {
      if (tries > 500) throw new Error('a new key never passed on the replica (is it streaming?)');
      await sleep(10);
    }
    await target.service.revoke(issued.record.id, 'staleness probe');
    const resolved = performance.now();
    let refusedInARow = 0;
    let lastPass = -1;
    await Promise.all(
      Array.from({ length: probes }, async () => {
        while (refusedInARow < 5) {
          const outcome = await get(agent, target.port, '/orders', issued.key);
          result.statuses[outcome.status] = (result.statuses[outcome.status] ?? 0) + 1;
          if (outcome.status === 200) {
            refusedInARow = 0;
            result.passedAfterCommit++;
            lastPass = Math.max(lastPass, outcome.start - resolved);
          } else refusedInARow++;
          if (performance.now() - resolved > 10_000) throw new Error('a revoked key kept passing for 10 s');
        }
      }),
    );
    result.stalenessMs.push(Math.max(0, lastPass));
  }
  return result;
}
