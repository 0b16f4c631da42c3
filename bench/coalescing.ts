/**
 * Does sharing a lookup in flight (the former `coalesceLookups` option) gain
 * anything over per-turn batching? `node build/bench/bench/coalescing.js [postgres|mariadb ...]`.
 *
 * One store, two ways of calling it, interleaved rep by rep (A B, B A, ...):
 * - `batched`: the store as it ships (the lookups of one event-loop turn share one statement);
 * - `batched + in-flight sharing`: the same store behind a map of in-flight promises by hash,
 *   as the option did (here the shared promise is of the hydrated row, which if anything favours it).
 * Workloads: one hot key, and 64 keys in rotation; 32 lookups in flight (closed loop), or one
 * lookup starting per event-loop turn (open loop: arrivals spread over turns, where sharing could
 * save statements that batching cannot).
 * Reports the median µs per lookup (wall, and this process's CPU) and statements per lookup.
 * `COALESCING_REPS` sets the reps (15).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { DataSource, type Logger } from 'typeorm';
import { apiKeyEntityFor, TypeOrmApiKeyStore } from '../lib/storage/index.js';
import { hashApiKey } from '../lib/key/index.js';
import { DATA_DIR, dataSourceOptions, tableFor, type BenchDatabase } from './config.js';
import { median } from './report.js';
import { seedKeys } from './seed.js';

type Lookup = (hash: string) => Promise<unknown>;

/** Counts the statements the DataSource reports. */
class StatementCounter implements Logger {
  count = 0;
  logQuery(): void {
    this.count++;
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** Shares the lookup of a hash while it is in flight (what `coalesceLookups` did). */
function sharingInFlight(lookup: Lookup): Lookup {
  const inFlight = new Map<string, Promise<unknown>>();
  return (hash) => {
    let pending = inFlight.get(hash);
    if (!pending) {
      pending = lookup(hash).finally(() => inFlight.delete(hash));
      inFlight.set(hash, pending);
    }
    return pending;
  };
}

async function time(lookup: Lookup, hashes: string[], n: number, inFlight: number, counter: StatementCounter) {
  let next = 0;
  const statements = counter.count;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await lookup(hashes[next++ % hashes.length]!);
    }),
  );
  const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / n, statements: (counter.count - statements) / n };
}

/**
 * Open loop: one lookup starts per event-loop turn (requests arriving one by
 * one rather than in step), `n` in all; µs of wall per lookup until all are answered.
 */
async function timeArrivals(lookup: Lookup, hashes: string[], n: number, counter: StatementCounter) {
  const statements = counter.count;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const answers: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    answers.push(lookup(hashes[i % hashes.length]!));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(answers);
  const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / n, statements: (counter.count - statements) / n };
}

async function run(db: BenchDatabase): Promise<void> {
  await seedKeys(db, '1k');
  const entity = apiKeyEntityFor(tableFor('1k'));
  const counter = new StatementCounter();
  const dataSource = new DataSource({
    ...dataSourceOptions(db, '1k'),
    entities: [entity],
    logging: true,
    logger: counter,
  });
  await dataSource.initialize();
  const hashes = readFileSync(`${DATA_DIR}/${db}-1k.keys`, 'utf8').trim().split('\n').map(hashApiKey);
  const store = new TypeOrmApiKeyStore(dataSource, entity);
  const batched: Lookup = async (hash) => store.findByHash(hash);
  const variants: [string, Lookup][] = [
    ['batched', batched],
    ['batched + in-flight sharing', sharingInFlight(batched)],
  ];
  type Timer = (lookup: Lookup, keys: string[]) => ReturnType<typeof time>;
  const closed: Timer = (lookup, keys) => time(lookup, keys, n, inFlight, counter);
  const open: Timer = (lookup, keys) => timeArrivals(lookup, keys, n, counter);
  const workloads: [string, string[], Timer][] = [
    ['one hot key, 32 in flight', hashes.slice(0, 1), closed],
    ['64 keys, 32 in flight', hashes.slice(0, 64), closed],
    ['one hot key, one arrival per turn', hashes.slice(0, 1), open],
    ['64 keys, one arrival per turn', hashes.slice(0, 64), open],
  ];
  const n = 2_000;
  const inFlight = 32;
  const reps = Number(process.env.COALESCING_REPS ?? 15);
  for (const [, lookup] of variants) await time(lookup, hashes, 200, inFlight, counter); // warm up
  console.log(`\n${db}: ${n} lookups per rep, median of ${reps} interleaved reps`);
  console.log('| workload | variant | wall µs/lookup | CPU µs/lookup | statements/lookup | CPU ratio (paired) |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const [workload, keys, timer] of workloads) {
    const samples = variants.map(() => [] as Awaited<ReturnType<typeof time>>[]);
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) samples[i]!.push(await timer(variants[i]![1], keys));
    }
    variants.forEach(([name], i) => {
      const own = samples[i]!;
      const ratio = median(own.map((s, r) => s.cpu / samples[0]![r]!.cpu));
      console.log(
        `| ${workload} | ${name} | ${median(own.map((s) => s.wall)).toFixed(1)} | ${median(own.map((s) => s.cpu)).toFixed(1)} | ${median(own.map((s) => s.statements)).toFixed(3)} | ${ratio.toFixed(2)} |`,
      );
    });
  }
  await dataSource.destroy();
}

const databases = (process.argv.slice(2).length ? process.argv.slice(2) : ['postgres']) as BenchDatabase[];
for (const db of databases) await run(db);
