import { execFileSync } from 'node:child_process';
import { createHash, pbkdf2Sync, randomInt } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const Database = createRequire(import.meta.url)('better-sqlite3') as new (file: string) => {
  prepare(sql: string): { all(...params: unknown[]): Record<string, unknown>[]; run(...params: unknown[]): unknown };
  exec(sql: string): void;
  close(): void;
};

/** The Better Auth release the tests create keys with. */
export const BETTER_AUTH_VERSION = '1.7.29';

/**
 * A directory where better-auth and its api-key plugin are installed (`npm install --no-save`, once per machine,
 * outside the project so they are no dependency of it): `BETTER_AUTH_DIR`, or one under the system's temp dir.
 */
export function betterAuthDir(): string {
  const dir = process.env.BETTER_AUTH_DIR ?? join(tmpdir(), `nestjs-opaque-keys-better-auth-${BETTER_AUTH_VERSION}`);
  if (!existsSync(join(dir, 'node_modules/@better-auth/api-key/package.json'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{"private":true}');
    execFileSync(
      'npm',
      [
        'install',
        '--no-save',
        '--no-audit',
        '--no-fund',
        `better-auth@${BETTER_AUTH_VERSION}`,
        `@better-auth/api-key@${BETTER_AUTH_VERSION}`,
      ],
      { cwd: dir, stdio: 'ignore' },
    );
  }
  return dir;
}

/** Keys created by better-auth itself: its `apikey` rows as its SQLite table holds them, and the keys it handed out. */
export interface BetterAuthSource {
  rows: Record<string, unknown>[];
  keys: { id: string; key: string; name: string }[];
  userId: string;
}

/**
 * Creates `count` keys (at least 4: reader, writer with 2 uses, disabled, expiring) with better-auth's own API on
 * its own tables (its migrations) in a SQLite file, and reads its `apikey` table back.
 */
export function betterAuthKeys(count = 6): BetterAuthSource {
  const dir = betterAuthDir();
  const script = join(dir, 'better-auth-keys.mjs');
  copyFileSync(join(root, 'test/fixtures/better-auth-keys.mjs'), script);
  const file = join(mkdtempSync(join(tmpdir(), 'better-auth-')), 'auth.db');
  const output = execFileSync(process.execPath, [script, root, file, String(count)], { cwd: dir, encoding: 'utf8' });
  const { keys, userId } = JSON.parse(output) as Omit<BetterAuthSource, 'rows'>;
  return { rows: readTable(file, 'apikey'), keys, userId };
}

/** The rows of a table of a SQLite file. */
export function readTable(file: string, table: string): Record<string, unknown>[] {
  const db = new Database(file);
  try {
    return db.prepare(`SELECT * FROM "${table}"`).all();
  } finally {
    db.close();
  }
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Django's `get_random_string(length)`: letters and digits. */
function randomString(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return text;
}

/**
 * djangorestframework-api-key's table, as its migrations create it on SQLite (`rest_framework_api_key_apikey`),
 * reproduced from its source: no package of it installs in Node.
 */
export const DRF_TABLE_SQL =
  'CREATE TABLE "rest_framework_api_key_apikey" ("id" varchar(150) NOT NULL PRIMARY KEY, "created" datetime NOT NULL, ' +
  '"name" varchar(50) NOT NULL, "revoked" bool NOT NULL, "expiry_date" datetime NULL, ' +
  '"hashed_key" varchar(150) NOT NULL, "prefix" varchar(8) NOT NULL UNIQUE)';

/** A DRF key and its row, as `APIKey.objects.create_key(name=...)` makes them. */
export interface DrfKey {
  key: string;
  row: Record<string, unknown>;
}

/**
 * `KeyGenerator.generate()` and `assign_key` of djangorestframework-api-key: `prefix.secret` (8 and 32
 * characters of `get_random_string`), `hashed_key` by its `Sha512ApiKeyHasher` (`sha512$$<hex>`), or, as its
 * versions before 2.0 did, Django's `make_password` (`pbkdf2_sha256$<iterations>$<salt>$<base64>`; fewer
 * iterations than Django's default, to keep the tests fast), and the id `prefix.hashed_key`.
 */
export function drfKey(
  name: string,
  options: { hasher?: 'sha512' | 'pbkdf2'; revoked?: boolean; expiry?: string | null } = {},
): DrfKey {
  const prefix = randomString(8);
  const key = `${prefix}.${randomString(32)}`;
  let hashed: string;
  if (options.hasher === 'pbkdf2') {
    const salt = randomString(22);
    hashed = `pbkdf2_sha256$10000$${salt}$${pbkdf2Sync(key, salt, 10000, 32, 'sha256').toString('base64')}`;
  } else hashed = `sha512$$${createHash('sha512').update(key).digest('hex')}`;
  const row = {
    id: `${prefix}.${hashed}`,
    created: '2026-01-02 03:04:05.123456',
    name,
    revoked: options.revoked ? 1 : 0,
    expiry_date: options.expiry ?? null,
    hashed_key: hashed,
    prefix,
  };
  return { key, row };
}

/** Writes DRF rows into its table in a new SQLite file and reads them back as the database gives them. */
export function drfTable(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const file = join(mkdtempSync(join(tmpdir(), 'drf-')), 'db.sqlite3');
  const db = new Database(file);
  db.exec(DRF_TABLE_SQL);
  const insert = db.prepare(
    'INSERT INTO rest_framework_api_key_apikey (id, created, name, revoked, expiry_date, hashed_key, prefix) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  for (const r of rows) insert.run(r.id, r.created, r.name, r.revoked, r.expiry_date, r.hashed_key, r.prefix);
  db.close();
  return readTable(file, 'rest_framework_api_key_apikey');
}

/** A hand-rolled table: `hr_` + 40 letters and digits, stored as SHA-256 hex, scopes comma-separated. */
export const HAND_ROLLED_TABLE_SQL =
  'CREATE TABLE api_tokens (id integer PRIMARY KEY, name text NOT NULL, key_hash char(64) NOT NULL UNIQUE, ' +
  'owner_id text, scopes text NOT NULL, created_at text NOT NULL, expires_at text, revoked_at text)';

/** A hand-rolled key and its row. */
export function handRolledKey(id: number, scopes: string, revokedAt: string | null = null) {
  const key = `hr_${randomString(40)}`;
  const row = {
    id,
    name: `token ${id}`,
    key_hash: createHash('sha256').update(key).digest('hex'),
    owner_id: `user-${id % 7}`,
    scopes,
    created_at: '2025-06-01 12:00:00',
    expires_at: null,
    revoked_at: revokedAt,
  };
  return { key, row };
}

/** Writes hand-rolled rows into their table in a new SQLite file and reads them back. */
export function handRolledTable(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const file = join(mkdtempSync(join(tmpdir(), 'tokens-')), 'app.db');
  const db = new Database(file);
  db.exec(HAND_ROLLED_TABLE_SQL);
  const insert = db.prepare(
    'INSERT INTO api_tokens (id, name, key_hash, owner_id, scopes, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const r of rows)
    insert.run(r.id, r.name, r.key_hash, r.owner_id, r.scopes, r.created_at, r.expires_at, r.revoked_at);
  db.close();
  return readTable(file, 'api_tokens');
}
