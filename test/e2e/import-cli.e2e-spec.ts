import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { apiKeyEntities, apiKeyMigrations } from 'nestjs-opaque-keys';
import { drfFormat, importEntities, importMigrations, withImport } from 'nestjs-opaque-keys/import';
import { DataSource } from 'typeorm';
import { drfKey, drfTable, handRolledKey, handRolledTable } from '../support/import-sources.js';
import { startSqliteKeyApp, type SqliteKeyApp } from '../support/sqlite-key-app.js';

/**
 * `nestjs-opaque-keys import` as an operator runs it: the library compiled into a private folder, the CLI
 * spawned on a SQLite file migrated with the core's and the import feature's migrations, rows exported as JSON.
 */
jest.setTimeout(120_000);

describe('nestjs-opaque-keys import (CLI)', () => {
  const root = resolve('.');
  const dir = join(root, 'build', `import-cli-e2e-${process.pid}`);
  const main = join(dir, 'dist', 'features', 'cli', 'main.js');
  const database = join(dir, 'keys.sqlite');
  const dataSourceFile = join(dir, 'data-source.mjs');
  const tokens = Array.from({ length: 4 }, (_, i) => handRolledKey(i + 1, 'reports:read'));
  const drf = [drfKey('first'), drfKey('second', { hasher: 'pbkdf2' })];
  let app: SqliteKeyApp;

  const cli = (...args: string[]) => {
    const result = spawnSync(process.execPath, [main, '-d', dataSourceFile, 'import', ...args], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')],
      { cwd: root, stdio: 'pipe' },
    );
    writeFileSync(
      dataSourceFile,
      `import { DataSource } from 'typeorm';\nexport const dataSource = new DataSource({ type: 'better-sqlite3', database: ${JSON.stringify(database)} });\n`,
    );
    const setup = new DataSource({
      type: 'better-sqlite3',
      database,
      entities: [...apiKeyEntities(), ...importEntities()],
      migrations: [...apiKeyMigrations('better-sqlite3'), ...importMigrations('better-sqlite3')],
    });
    await setup.initialize();
    await setup.runMigrations();
    await setup.destroy();
    const formats = [{ name: 'tokens', prefix: 'hr_', length: 43, hash: 'sha256-hex' as const }, drfFormat()];
    app = await startSqliteKeyApp(database, { features: [withImport({ formats })] } as never);
    const rows = handRolledTable(tokens.map((t) => t.row));
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify([...rows, { ...rows[0], id: 9, key_hash: 'abc' }]));
    writeFileSync(
      join(dir, 'drf.jsonl'),
      drfTable(drf.map((d) => d.row))
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports a SHA-256 table from a JSON array, prints each refused row and exits 4; a re-run imports nothing', async () => {
    const args = ['--from', 'sha256-table', '--format', 'tokens', '--file', join(dir, 'tokens.json')];
    const first = cli(...args);
    expect(first.stdout).toContain('4 imported, 0 unchanged, 0 changed, 1 refused (from tokens)');
    expect(first.stdout).toContain('refused  row 4 (9): key_hash is not a SHA-256 in hex');
    expect(first.stderr).toContain('1 row(s) refused');
    expect(first.status).toBe(4);
    for (const token of tokens) expect((await app.call(token.key)).status).toBe(200);
    const again = cli(...args);
    expect(again.stdout).toContain('0 imported, 4 unchanged, 0 changed, 1 refused');
  });

  it('imports DRF rows from JSON lines with the scopes given, exit 0; the keys verify', async () => {
    const result = cli('--from', 'drf', '--file', join(dir, 'drf.jsonl'), '--scopes', 'reports:read', '--json');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ source: 'drf', unchanged: 0, changed: [], refused: [] });
    expect(report.imported).toHaveLength(2);
    for (const key of drf) expect((await app.call(key.key)).status).toBe(200);
    expect((await app.call(`${drf[0].key.slice(0, 9)}${'z'.repeat(32)}`)).status).toBe(401);
  });

  it('refuses an unknown source with the usage exit code', () => {
    const result = cli('--from', 'unkey', '--file', join(dir, 'drf.jsonl'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--from must be one of better-auth, drf, sha256-table');
  });
});
