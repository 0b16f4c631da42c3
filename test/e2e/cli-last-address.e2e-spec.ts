import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { apiKeyEntities } from 'nestjs-opaque-keys';
import { ApiKeyLastAddressRecorder, lastAddressEntities, withLastAddress } from 'nestjs-opaque-keys/last-address';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { OrdersController } from '../support/controllers.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';
import { createTestApp } from '../support/test-app.js';

/**
 * The operator CLI's `show` (the library compiled into a private folder, `main.js` spawned on this run's
 * database): where the key was last used from, when the app records it, and no such line where it does not.
 */
// Every command is a fresh Node process that boots Nest (about 1.5 s on a shared core).
jest.setTimeout(180_000);

describe(`CLI show: the last address (${testDatabase()})`, () => {
  const root = resolve('.');
  const dir = join(root, 'build', `cli-last-address-${process.pid}-${testDatabase()}`);
  const main = join(dir, 'dist', 'features', 'cli', 'main.js');
  const sqliteFile = join(dir, 'keys.sqlite');
  const dataSourceFile = join(dir, 'data-source.mjs');
  let used: string;
  let unused: string;
  let plain: string;

  function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [main, '-d', dataSourceFile, ...args], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist'), '--sourceMap', 'false'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
    const options = testDataSourceOptions({ sqliteFile });
    writeFileSync(
      dataSourceFile,
      `import { DataSource } from 'typeorm';\nexport default new DataSource(${JSON.stringify(options)});\n`,
    );
    // An app that does not record addresses, on `plain_keys` (it makes a fresh schema), then one that does, on
    // the default table (its tables made beside, without dropping the first app's).
    const other = await createTestApp({ sqliteFile, extras: { tableName: 'plain_keys' } });
    try {
      plain = (await other.service.issue({ name: 'plain', scopes: ['orders:read'] })).record.id;
    } finally {
      await other.close();
    }
    const tables = new DataSource({
      ...options,
      entities: [...apiKeyEntities(), ...lastAddressEntities()],
      synchronize: true,
    } as DataSourceOptions);
    await (await tables.initialize()).destroy();
    const t = await createTestApp({
      controllers: [OrdersController],
      sqliteFile,
      joinDatabase: true,
      extras: { features: [withLastAddress()] },
    });
    try {
      const issued = await t.service.issue({ name: 'used', scopes: ['orders:read'] });
      used = issued.record.id;
      unused = (await t.service.issue({ name: 'unused', scopes: ['orders:read'] })).record.id;
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', issued.key).expect(200);
      await t.app.get(ApiKeyLastAddressRecorder).flush();
    } finally {
      await t.close();
    }
  }, 400_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints where and when the key was last used from, and null for a key not used since', () => {
    const shown = cli('show', used);
    expect({ status: shown.status, stderr: shown.stderr }).toEqual({ status: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^last used from\s+127\.0\.0\.1 \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/m);
    const json = cli('--json', 'show', used);
    expect(json.status).toBe(0);
    const record = JSON.parse(json.stdout);
    expect(record.id).toBe(used);
    expect(record.lastUsedFrom.address).toBe('127.0.0.1');
    expect(Math.abs(new Date(record.lastUsedFrom.usedAt).getTime() - Date.now())).toBeLessThan(300_000);

    expect(cli('show', unused).stdout).toMatch(/^last used from\s+-$/m);
    expect(JSON.parse(cli('--json', 'show', unused).stdout).lastUsedFrom).toBeNull();
  });

  it('prints no such line where the app does not record addresses (no table)', () => {
    const shown = cli('--table', 'plain_keys', 'show', plain);
    expect({ status: shown.status, stderr: shown.stderr }).toEqual({ status: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^name\s+plain$/m);
    expect(shown.stdout).not.toContain('last used from');
    expect('lastUsedFrom' in JSON.parse(cli('--json', '--table', 'plain_keys', 'show', plain).stdout)).toBe(false);
  });
});
