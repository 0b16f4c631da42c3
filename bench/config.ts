import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataSourceOptions } from 'typeorm';

/** Where the compiled bench runs from (build/bench/bench) and the repository root. */
export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..', '..');
/** Seeded SQLite files, key lists and profiles: git-ignored (build/). */
export const DATA_DIR = join(ROOT, 'build', 'bench-data');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** The key prefix of every seeded key. */
export const PREFIX = 'sk';
/** The scope the benchmarked route requires, granted to every seeded key. */
export const SCOPE = 'bench:read';
/** How many distinct valid keys the load generator rotates through. */
export const KEYS_IN_ROTATION = 64;
/** The HS256 secret of the JWT variants. */
export const JWT_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';

/** The databases a variant can run on. */
export type BenchDatabase = 'sqlite' | 'postgres' | 'mariadb';
/**
 * Seeded tables: 1k or 1M untagged keys, or 1k keys issued with the keyed tag
 * ({@link KEY_TAG}). Each has its own table, SQLite file and key list, so
 * adding one leaves the others' caches valid.
 */
export type TableSize = '1k' | '1m' | '1k-tagged';
export const ROWS: Record<TableSize, number> = { '1k': 1_000, '1m': 1_000_000, '1k-tagged': 1_000 };
/** The `keyTag` module option of the tagged variants; the tagged table is seeded with the same secret. */
export const KEY_TAG = { secrets: { '1': 'bench-key-tag-secret-0123456789abcdef0123456789' }, current: '1' } as const;

/** The database the bench creates for itself on the servers (tests own `test`, and drop it). */
export const SERVER_DATABASE = 'bench_api_keys';
export const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const MARIADB_URL = process.env.BENCH_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306';

/** The table holding keys of one size. */
export function tableFor(size: TableSize): string {
  return `api_keys_${size.replace('-', '_')}`;
}

/** TypeORM connection options of a seeded database (the same for seeder and servers). */
export function dataSourceOptions(db: BenchDatabase, size: TableSize): DataSourceOptions {
  if (db === 'sqlite') {
    mkdirSync(DATA_DIR, { recursive: true });
    // WAL, as production SQLite apps run: a read then costs 3 syscalls instead of 8.
    return { type: 'better-sqlite3', database: join(DATA_DIR, `keys-${size}.sqlite`), enableWAL: true };
  }
  if (db === 'postgres') return { type: 'postgres', url: `${POSTGRES_URL}/${SERVER_DATABASE}` };
  return { type: 'mariadb', url: `${MARIADB_URL}/${SERVER_DATABASE}` };
}

/** What guards the route in a variant. */
export type GuardKind =
  | 'none'
  | 'noop'
  | 'noop-check'
  | 'noop-refuse'
  | 'noop-async'
  | 'library'
  | 'library-v0'
  | 'jwt-string'
  | 'jwt-keyobject'
  | 'hand-rolled';

/** One benchmarked configuration: its own Nest app process. */
export interface Variant {
  readonly id: string;
  readonly label: string;
  readonly guard: GuardKind;
  readonly db?: BenchDatabase;
  readonly size?: TableSize;
  /** With the optional lookup cache (`cache: { ttlMs: 5000 }`; LISTEN/NOTIFY on PostgreSQL). */
  readonly cache?: boolean;
  /** With `batchLookups: true` (SQLite: the lookups of one event-loop turn as one IN (...) statement). */
  readonly batch?: boolean;
  /** With the `keyTag` option ({@link KEY_TAG}) on the tagged table. */
  readonly tag?: boolean;
  /**
   * A flood of forged keys: well-formed (valid CRC32 checksum, random body, of
   * the tagged length with `tag`) but in no table. Every request is a 401, the
   * expected status of the variant.
   */
  readonly flood?: boolean;
  /**
   * With feature modules loaded and idle: import (a legacy format), owner policies (none set) and alerts
   * (thresholds no bench key crosses); their tables created at boot. What loading them costs a verified request.
   */
  readonly features?: boolean;
  /** Only in the full run. */
  readonly fullOnly?: boolean;
  /** Only with `--baseline` (the v0.1 store, for before/after comparisons). */
  readonly baselineOnly?: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { id: 'bare', label: 'bare Nest route (no auth)', guard: 'none' },
  { id: 'noop-guard', label: 'a guard that only returns true', guard: 'noop' },
  {
    id: 'noop-check-guard',
    label: 'a guard that reads the header and the route scopes, then returns true',
    guard: 'noop-check',
  },
  {
    id: 'noop-refuse-guard',
    label: 'a guard that reads the header, then refuses with 401 (the floor of a forged-key flood)',
    guard: 'noop-refuse',
    flood: true,
    tag: true,
    fullOnly: true,
  },
  { id: 'noop-async-guard', label: 'an async guard that only returns true', guard: 'noop-async', fullOnly: true },
  { id: 'lib-sqlite-1k', label: 'nestjs-opaque-keys, SQLite, 1k keys', guard: 'library', db: 'sqlite', size: '1k' },
  {
    id: 'lib-sqlite-1m',
    label: 'nestjs-opaque-keys, SQLite, 1M keys',
    guard: 'library',
    db: 'sqlite',
    size: '1m',
    fullOnly: true,
  },
  {
    id: 'lib-postgres-1k',
    label: 'nestjs-opaque-keys, PostgreSQL, 1k keys',
    guard: 'library',
    db: 'postgres',
    size: '1k',
  },
  {
    id: 'lib-postgres-1m',
    label: 'nestjs-opaque-keys, PostgreSQL, 1M keys',
    guard: 'library',
    db: 'postgres',
    size: '1m',
    fullOnly: true,
  },
  {
    id: 'lib-sqlite-1k-batched',
    label: 'nestjs-opaque-keys, SQLite, 1k keys, batched lookups',
    guard: 'library',
    db: 'sqlite',
    size: '1k',
    batch: true,
  },
  {
    id: 'lib-sqlite-1k-cache',
    label: 'nestjs-opaque-keys + cache, SQLite, 1k keys',
    guard: 'library',
    db: 'sqlite',
    size: '1k',
    cache: true,
  },
  {
    id: 'lib-postgres-1k-cache',
    label: 'nestjs-opaque-keys + cache, PostgreSQL, 1k keys',
    guard: 'library',
    db: 'postgres',
    size: '1k',
    cache: true,
  },
  {
    id: 'lib-sqlite-1k-features',
    label: 'nestjs-opaque-keys, SQLite, 1k keys, import + owner policies + alerts loaded, idle',
    guard: 'library',
    db: 'sqlite',
    size: '1k',
    features: true,
  },
  {
    id: 'lib-sqlite-1k-tag',
    label: 'nestjs-opaque-keys, SQLite, 1k keys, keyed tag',
    guard: 'library',
    db: 'sqlite',
    size: '1k-tagged',
    tag: true,
  },
  {
    id: 'lib-sqlite-1k-forged',
    label: 'forged-key flood, SQLite, 1k keys (401s)',
    guard: 'library',
    db: 'sqlite',
    size: '1k',
    flood: true,
  },
  {
    id: 'lib-sqlite-1k-forged-tag',
    label: 'forged-key flood, SQLite, keyed tag (401s)',
    guard: 'library',
    db: 'sqlite',
    size: '1k-tagged',
    tag: true,
    flood: true,
  },
  {
    id: 'lib-postgres-1k-forged',
    label: 'forged-key flood, PostgreSQL, 1k keys (401s)',
    guard: 'library',
    db: 'postgres',
    size: '1k',
    flood: true,
  },
  {
    id: 'lib-postgres-1k-forged-tag',
    label: 'forged-key flood, PostgreSQL, keyed tag (401s)',
    guard: 'library',
    db: 'postgres',
    size: '1k-tagged',
    tag: true,
    flood: true,
    fullOnly: true,
  },
  { id: 'lib-mariadb-1k', label: 'nestjs-opaque-keys, MariaDB, 1k keys', guard: 'library', db: 'mariadb', size: '1k' },
  {
    id: 'lib-mariadb-1m',
    label: 'nestjs-opaque-keys, MariaDB, 1M keys',
    guard: 'library',
    db: 'mariadb',
    size: '1m',
    fullOnly: true,
  },
  { id: 'jwt-string', label: '@nestjs/jwt HS256, string secret', guard: 'jwt-string', fullOnly: true },
  { id: 'jwt-keyobject', label: '@nestjs/jwt HS256, KeyObject secret', guard: 'jwt-keyobject' },
  {
    id: 'hand-sqlite-1k',
    label: 'hand-rolled (sha256 + findOne), SQLite, 1k',
    guard: 'hand-rolled',
    db: 'sqlite',
    size: '1k',
    fullOnly: true,
  },
  {
    id: 'hand-postgres-1k',
    label: 'hand-rolled (sha256 + findOne), PostgreSQL, 1k',
    guard: 'hand-rolled',
    db: 'postgres',
    size: '1k',
    fullOnly: true,
  },
  {
    id: 'v0-sqlite-1k',
    label: 'v0.1 store, SQLite, 1k keys',
    guard: 'library-v0',
    db: 'sqlite',
    size: '1k',
    baselineOnly: true,
  },
  {
    id: 'v0-postgres-1k',
    label: 'v0.1 store, PostgreSQL, 1k keys',
    guard: 'library-v0',
    db: 'postgres',
    size: '1k',
    baselineOnly: true,
  },
  {
    id: 'v0-mariadb-1k',
    label: 'v0.1 store, MariaDB, 1k keys',
    guard: 'library-v0',
    db: 'mariadb',
    size: '1k',
    baselineOnly: true,
  },
];

/** The HTTP status every request of a variant is expected to get: 401 for a forged-key flood, else 200. */
export function expectedStatus(variant: Variant): number {
  return variant.flood ? 401 : 200;
}

/** The file listing the credentials a variant's load generator sends, one per line. */
export function credentialsFile(variant: Variant): string {
  if (variant.flood) return join(DATA_DIR, variant.tag ? 'forged-tagged.keys' : 'forged.keys');
  return validCredentialsFile(variant);
}

/** Credentials the variant answers with 200 (for a flood variant: the valid keys of its table). */
export function validCredentialsFile(variant: Variant): string {
  if (variant.guard === 'jwt-string' || variant.guard === 'jwt-keyobject') return join(DATA_DIR, 'jwt.keys');
  if (!variant.db || !variant.size) return join(DATA_DIR, 'bare.keys');
  return join(DATA_DIR, `${variant.db}-${variant.size}.keys`);
}

/**
 * Replaces what stands between `<!-- bench:<section>:start -->` and `<!-- bench:<section>:end -->` in
 * bench/README.md with `markdown`; false when the markers are missing.
 */
export function updateReadmeSection(section: string, markdown: string): boolean {
  const [open, close] = [`<!-- bench:${section}:start -->`, `<!-- bench:${section}:end -->`];
  const file = join(ROOT, 'bench', 'README.md');
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  if (start < 0 || end < start) return false;
  writeFileSync(file, `${text.slice(0, start + open.length)}\n\n${markdown.trim()}\n\n${text.slice(end)}`);
  return true;
}
