/**
 * What recording the last address costs the request path, and what a flush costs the database.
 * `node build/bench/bench/last-address.js` (after `tsc -p bench/tsconfig.json`).
 *
 * Same run, interleaved rep by rep (A B, B A, ...): the guard's report of a verified request with
 * `withLastAddress()` on (its verification hook: one Map entry per key, overwritten) and with no feature (no
 * hook: the baseline). 1,000,000 calls per rep over 1,000 keys, `LAST_ADDRESS_REPS` reps (10); reports the
 * median ns per call and the difference. Then one flush of 1,000 and of 2,500 noted keys into in-memory
 * SQLite (truncated), counting its statements; and the statements of the request path: none.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { DataSource, type Logger } from 'typeorm';
import {
  ApiKeyLastAddressEntity,
  ApiKeyLastAddressRecorder,
  resolveLastAddressOptions,
} from '../lib/features/last-address/index.js';
import { ResolvedApiKeyOptions } from '../lib/api-key.options.js';
import { ApiKeyDatabase } from '../lib/storage/index.js';
import { VerificationOutcomes } from '../lib/verification/index.js';
import { median } from './report.js';

const CALLS = 1_000_000;
const KEYS = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const ADDRESSES = ['::ffff:203.0.113.9', '198.51.100.23', '2001:db8:85a3::8a2e:370:7348'];
const REPS = Number(process.env.LAST_ADDRESS_REPS ?? 10);

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
  entities: [ApiKeyLastAddressEntity],
  synchronize: true,
  logging: true,
  logger,
}).initialize();

function recorder(): ApiKeyLastAddressRecorder {
  const options = resolveLastAddressOptions({ truncate: true, flushIntervalMs: 3_600_000 });
  // Only the DataSource of the setup's database is used by the recorder.
  return new ApiKeyLastAddressRecorder(
    options,
    new ResolvedApiKeyOptions({}),
    { dataSource } as ApiKeyDatabase,
    ApiKeyLastAddressEntity,
  );
}

/** What the guard does on a verified request: ask for the address only when a hook wants it, then report. */
function run(target: VerificationOutcomes): number {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const address = target.wantsAddress ? ADDRESSES[i % 3] : undefined;
    target.report(undefined, 'verified', KEYS[i % KEYS.length], address);
  }
  return ((performance.now() - started) * 1e6) / CALLS; // ns per call
}

const noting = recorder();
const on = new VerificationOutcomes([noting]);
const off = new VerificationOutcomes([]);
run(on);
run(off); // warm-up
const withFeature: number[] = [];
const without: number[] = [];
const during = statements.length;
for (let rep = 0; rep < REPS; rep++) {
  if (rep % 2 === 0) {
    withFeature.push(run(on));
    without.push(run(off));
  } else {
    without.push(run(off));
    withFeature.push(run(on));
  }
}
const onRequestPath = statements.length - during;
await noting.flush();

const flushes: { keys: number; statements: number; ms: number }[] = [];
for (const keys of [1000, 2500]) {
  const target = recorder();
  for (let i = 0; i < keys; i++) target.note(`k-${String(i).padStart(34, '0')}`, ADDRESSES[i % 3]);
  const before = statements.length;
  const started = performance.now();
  await target.flush();
  flushes.push({ keys, statements: statements.length - before, ms: performance.now() - started });
}

const a = median(withFeature);
const b = median(without);
console.log(`verified-request report, ${REPS} reps of ${CALLS} calls, interleaved; median ns per call`);
console.log(`last address on : ${a.toFixed(1)} ns`);
console.log(`last address off: ${b.toFixed(1)} ns`);
console.log(`cost            : ${(a - b).toFixed(1)} ns = ${((a - b) / 1000).toFixed(3)} µs per request`);
console.log(`statements on the request path: ${onRequestPath}`);
for (const f of flushes)
  console.log(`flush of ${f.keys} noted keys: ${f.statements} statement(s), ${f.ms.toFixed(1)} ms (SQLite, memory)`);
await dataSource.destroy();
