/**
 * What per-key usage counting costs the request path, and what a flush costs
 * the database. `node build/bench/bench/usage-recorder.js`.
 *
 * Same run, interleaved rep by rep (A B, B A, ...): the guard's outcome report
 * with `withUsage()` on (its verification hook, a Map increment per call), and
 * with no feature (no hook: the baseline). 1,000,000 calls per rep over
 * 1,000 keys, `USAGE_REPS` reps (10); reports the median ns per call and the
 * difference. Then one flush of 1,000 and of 2,500 pending (key, hour,
 * outcome) counts into in-memory SQLite, counting its statements.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { DataSource, type Logger } from 'typeorm';
import { ApiKeyUsageEntity, ApiKeyUsageRecorder } from '../lib/features/usage/index.js';
import { ApiKeyDatabase } from '../lib/storage/index.js';
import { VerificationOutcomes } from '../lib/verification/index.js';
import { median } from './report.js';

const CALLS = 1_000_000;
const KEYS = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const REPS = Number(process.env.USAGE_REPS ?? 10);

const statements: string[] = [];
const logger: Logger = {
  logQuery: (query) => void statements.push(query),
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

const dataSource = await new DataSource({
  type: 'better-sqlite3',
  database: ':memory:',
  entities: [ApiKeyUsageEntity],
  synchronize: true,
  logging: true,
  logger,
}).initialize();

function recorder(): ApiKeyUsageRecorder {
  const options = { granularity: 'hour', flushIntervalMs: 3_600_000, retentionMs: undefined } as const;
  // Only the DataSource of the setup's database is used by the recorder.
  return new ApiKeyUsageRecorder(options, { dataSource } as ApiKeyDatabase, ApiKeyUsageEntity);
}

function run(target: VerificationOutcomes): number {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) target.report(undefined, 'verified', KEYS[i % KEYS.length]);
  return ((performance.now() - started) * 1e6) / CALLS; // ns per call
}

// What the guard reports to: with usage on, the recorder is its one verification hook; off, it has none.
const counting = recorder();
const on = new VerificationOutcomes([counting]);
const off = new VerificationOutcomes([]);
run(on);
run(off); // warm-up
const withUsage: number[] = [];
const without: number[] = [];
for (let rep = 0; rep < REPS; rep++) {
  if (rep % 2 === 0) {
    withUsage.push(run(on));
    without.push(run(off));
  } else {
    without.push(run(off));
    withUsage.push(run(on));
  }
}
await counting.flush();

const flushes: { entries: number; statements: number; ms: number }[] = [];
for (const entries of [1000, 2500]) {
  const target = recorder();
  const now = Date.now();
  for (let i = 0; i < entries; i++)
    target.record(`k-${String(i).padStart(34, '0')}`, (['verified', 'forbidden', 'rate_limited'] as const)[i % 3], now);
  const before = statements.length;
  const started = performance.now();
  await target.flush();
  flushes.push({ entries, statements: statements.length - before, ms: performance.now() - started });
}

const a = median(withUsage);
const b = median(without);
console.log(`outcome report, ${REPS} reps of ${CALLS} calls, interleaved; median ns per call`);
console.log(`usage on : ${a.toFixed(1)} ns`);
console.log(`usage off: ${b.toFixed(1)} ns`);
console.log(`cost     : ${(a - b).toFixed(1)} ns = ${((a - b) / 1000).toFixed(3)} µs per request`);
for (const f of flushes)
  console.log(
    `flush of ${f.entries} pending counts: ${f.statements} statement(s), ${f.ms.toFixed(1)} ms (SQLite, memory)`,
  );
await dataSource.destroy();
