/**
 * Imports 10,000 rows from each source, then verifies every imported key with the string its holder has.
 * `node build/bench/bench/import.js [sqlite|postgres|mariadb ...]` (default sqlite), after
 * `tsc -p bench/tsconfig.json`. The Better Auth rows are made with better-auth's own key generator and hasher
 * (`generateRandomString`, `defaultKeyHasher`), loaded from `BETTER_AUTH_DIR` (or the folder the e2e test
 * installs them in); the DRF rows with its `Sha512ApiKeyHasher`, reproduced; the hand-rolled rows as SHA-256 hex.
 * Reports per source: the import's time, a re-run's (all unchanged), and the verification of every key (first
 * use, which upgrades each DRF key once, then a second pass).
 */
import 'reflect-metadata';
import { createHash, randomInt } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ApiKeyModule, ApiKeyVerifier } from '../lib/index.js';
import { ApiKeyImporter, betterAuthFormat, drfFormat, withImport } from '../lib/features/import/index.js';
import { DATA_DIR, MARIADB_URL, POSTGRES_URL, type BenchDatabase } from './config.js';

const ROWS = Number(process.env.IMPORT_ROWS ?? 10_000);
const SCHEMA = 'import_bench';

type Made = { rows: Record<string, unknown>[]; keys: string[] };

async function betterAuthRows(): Promise<Made> {
  const dir = process.env.BETTER_AUTH_DIR ?? join(tmpdir(), 'nestjs-opaque-keys-better-auth-1.7.29');
  const load = (path: string) => import(pathToFileURL(join(dir, 'node_modules', path)).href);
  if (!existsSync(join(dir, 'node_modules/@better-auth/api-key')))
    throw new Error(
      `better-auth is not installed in ${dir}: run test/e2e/import.e2e-spec.ts once, or set BETTER_AUTH_DIR`,
    );
  const { defaultKeyHasher } = await load('@better-auth/api-key/dist/index.mjs');
  const { generateRandomString } = await load('better-auth/dist/crypto/index.mjs');
  const rows: Record<string, unknown>[] = [];
  const keys: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    const key = `ba_${generateRandomString(64, 'a-z', 'A-Z')}`;
    keys.push(key);
    const now = new Date().toISOString();
    rows.push({
      id: `ba${i}`,
      configId: 'default',
      name: `key ${i}`,
      start: key.slice(0, 6),
      referenceId: `user-${i % 100}`,
      prefix: 'ba_',
      key: await defaultKeyHasher(key),
      refillInterval: null,
      refillAmount: null,
      lastRefillAt: null,
      enabled: 1,
      rateLimitEnabled: 1,
      rateLimitTimeWindow: 86_400_000,
      rateLimitMax: 10,
      requestCount: 0,
      remaining: null,
      lastRequest: null,
      expiresAt: null,
      createdAt: now,
      updatedAt: now,
      permissions: '{"orders":["read"]}',
      metadata: '{"plan":"pro"}',
    });
  }
  return { rows, keys };
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const random = (length: number) => Array.from({ length }, () => ALPHANUMERIC[randomInt(62)]).join('');

function drfRows(): Made {
  const rows: Record<string, unknown>[] = [];
  const keys: string[] = [];
  const prefixes = new Set<string>();
  while (rows.length < ROWS) {
    const prefix = random(8);
    if (prefixes.has(prefix)) continue;
    prefixes.add(prefix);
    const key = `${prefix}.${random(32)}`;
    const hashed = `sha512$$${createHash('sha512').update(key).digest('hex')}`;
    keys.push(key);
    rows.push({
      id: `${prefix}.${hashed}`,
      created: '2026-01-02 03:04:05.123456',
      name: `key ${rows.length}`,
      revoked: 0,
      expiry_date: null,
      hashed_key: hashed,
      prefix,
    });
  }
  return { rows, keys };
}

function handRolledRows(): Made {
  const keys = Array.from({ length: ROWS }, () => `hr_${random(40)}`);
  const rows = keys.map((key, i) => ({
    id: i + 1,
    name: `token ${i}`,
    key_hash: createHash('sha256').update(key).digest('hex'),
    owner_id: `user-${i % 100}`,
    scopes: 'orders:read',
    created_at: '2025-06-01 12:00:00',
    expires_at: null,
    revoked_at: null,
  }));
  return { rows, keys };
}

async function dataSourceOptions(db: BenchDatabase): Promise<DataSourceOptions> {
  if (db === 'sqlite') {
    const file = join(DATA_DIR, 'import.sqlite');
    rmSync(file, { force: true });
    return { type: 'better-sqlite3', database: file, enableWAL: true };
  }
  if (db === 'postgres') {
    const admin = await new DataSource({ type: 'postgres', url: `${POSTGRES_URL}/test` }).initialize();
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.query(`CREATE SCHEMA ${SCHEMA}`);
    await admin.destroy();
    return { type: 'postgres', url: `${POSTGRES_URL}/test`, schema: SCHEMA };
  }
  const admin = await new DataSource({ type: 'mariadb', url: `${MARIADB_URL}/test` }).initialize();
  await admin.query(`DROP DATABASE IF EXISTS ${SCHEMA}`);
  await admin.query(`CREATE DATABASE ${SCHEMA}`);
  await admin.destroy();
  return { type: 'mariadb', url: `${MARIADB_URL}/${SCHEMA}` };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function verifyAll(verifier: ApiKeyVerifier, keys: readonly string[]): Promise<{ ms: number; valid: number }> {
  const start = performance.now();
  let valid = 0;
  for (const key of keys) if ((await verifier.verify(key)).valid) valid++;
  return { ms: performance.now() - start, valid };
}

async function run(db: BenchDatabase): Promise<void> {
  const formats = [
    betterAuthFormat({ prefix: 'ba_' }),
    drfFormat(),
    { name: 'hand-rolled', prefix: 'hr_', length: 43, hash: 'sha256-hex' as const },
  ];
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        ...(await dataSourceOptions(db)),
        autoLoadEntities: true,
        synchronize: true,
        logging: false,
      }),
      ApiKeyModule.forRoot({ prefix: 'sk', lastUsedIntervalMs: 0, features: [withImport({ formats })] }),
    ],
  })
  class ImportBenchModule {}
  const app = await NestFactory.createApplicationContext(ImportBenchModule, { logger: false });
  const importer = app.get(ApiKeyImporter);
  const verifier = app.get(ApiKeyVerifier);
  const sources = [
    { from: 'better-auth' as const, made: await betterAuthRows() },
    { from: 'drf' as const, made: drfRows(), scopes: ['orders:read'] },
    { from: 'sha256-table' as const, format: 'hand-rolled', made: handRolledRows() },
  ];
  for (const { made, ...source } of sources) {
    let start = performance.now();
    const report = await importer.import({ ...source, rows: made.rows });
    const imported = performance.now() - start;
    start = performance.now();
    const again = await importer.import({ ...source, rows: made.rows });
    const rerun = performance.now() - start;
    const first = await verifyAll(verifier, made.keys);
    const second = await verifyAll(verifier, made.keys);
    console.log(
      `${db} ${source.format ?? source.from}: ${ROWS} rows imported in ${seconds(imported)} ` +
        `(${report.imported.length} imported, ${report.refused.length} refused); re-run ${seconds(rerun)} ` +
        `(${again.unchanged} unchanged, ${again.imported.length} imported); verified ${first.valid}/${ROWS} ` +
        `in ${seconds(first.ms)} (first use), ${second.valid}/${ROWS} in ${seconds(second.ms)} (then)`,
    );
  }
  await app.close();
}

const databases = (process.argv.slice(2).length ? process.argv.slice(2) : ['sqlite']) as BenchDatabase[];
for (const db of databases) await run(db);
