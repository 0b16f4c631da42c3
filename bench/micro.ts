/**
 * Micro benchmark of the per-request read alone, no HTTP:
 * `node build/bench/bench/micro.js [sqlite|postgres|mariadb ...]`.
 * For each database, interleaves (A B C, A B C, ...) the v0.1 store, today's
 * store and a TypeORM `findOne` by hash, and reports the median µs per lookup
 * (wall clock and this process's CPU time) one at a time and with 16 in flight.
 * CPU time is the steadier figure on a shared machine: it does not count time
 * spent waiting for the database or descheduled. `MICRO_REPS` sets the reps (31).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { apiKeyEntityFor } from '../lib/storage/index.js';
import { TypeOrmApiKeyStore } from '../lib/storage/index.js';
import { hashApiKey } from '../lib/key/index.js';
import { V0TypeOrmApiKeyStore } from './baseline/api-key.store.v0.js';
import { DATA_DIR, dataSourceOptions, tableFor, type BenchDatabase } from './config.js';
import { median } from './report.js';
import { seedKeys } from './seed.js';

type Lookup = (hash: string) => Promise<unknown>;

/** Wall and CPU (this process) µs per lookup, `inFlight` lookups at a time. */
async function time(
  lookup: Lookup,
  hashes: string[],
  n: number,
  inFlight: number,
): Promise<{ wall: number; cpu: number }> {
  let next = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await lookup(hashes[next++ % hashes.length]);
    }),
  );
  const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: (used.user + used.system) / n };
}

async function run(db: BenchDatabase): Promise<void> {
  await seedKeys(db, '1k');
  const entity = apiKeyEntityFor(tableFor('1k'));
  const dataSource = new DataSource({ ...dataSourceOptions(db, '1k'), entities: [entity] });
  await dataSource.initialize();
  const hashes = readFileSync(`${DATA_DIR}/${db}-1k.keys`, 'utf8').trim().split('\n').map(hashApiKey);
  const v0 = new V0TypeOrmApiKeyStore(dataSource, entity);
  const now = new TypeOrmApiKeyStore(dataSource, entity);
  const repository = dataSource.getRepository(entity);
  const lookups: Record<string, Lookup> = {
    'v0.1 store': (h) => v0.findByHash(h),
    'store now': async (h) => now.findByHash(h),
    'findOne by hash': (h) => repository.findOne({ where: { hash: h } }),
  };
  for (const [name, lookup] of Object.entries(lookups)) {
    const row = (await lookup(hashes[0])) as { hash?: string } | null;
    if (row?.hash !== hashes[0]) throw new Error(`${name} did not find the key`);
  }
  // Short, finely interleaved reps: on a shared machine, noise hits every lookup alike.
  const n = db === 'sqlite' ? 2_000 : 200;
  const reps = Number(process.env.MICRO_REPS ?? 31);
  const samples: Record<string, { wall: number; cpu: number }[]> = {};
  for (const inFlight of [1, 16]) {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, lookup] of Object.entries(lookups))
        (samples[`${name}@${inFlight}`] ??= []).push(await time(lookup, hashes, n, inFlight));
    }
  }
  const names = Object.keys(lookups);
  const base = names[0];
  console.log(
    `\n${db}: µs per lookup, median of ${reps} interleaved reps (wall / CPU of this process); ratio = CPU vs ${base}, paired per rep`,
  );
  console.log('| lookup | 1 in flight: wall | CPU | ratio | 16 in flight: wall | CPU | ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const name of names) {
    const cells = [1, 16].flatMap((inFlight) => {
      const own = samples[`${name}@${inFlight}`];
      const ref = samples[`${base}@${inFlight}`];
      const ratio = median(own.map((s, i) => s.cpu / ref[i].cpu));
      return [median(own.map((s) => s.wall)).toFixed(1), median(own.map((s) => s.cpu)).toFixed(1), ratio.toFixed(2)];
    });
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  await dataSource.destroy();
}

const databases = (
  process.argv.slice(2).length ? process.argv.slice(2) : ['sqlite', 'postgres', 'mariadb']
) as BenchDatabase[];
for (const db of databases) await run(db);
