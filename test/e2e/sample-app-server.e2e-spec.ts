import { afterAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiKeyMigrations } from 'nestjs-opaque-keys';
import { ownerPolicyMigrations } from 'nestjs-opaque-keys/owner-policies';
import { lastAddressMigrations } from 'nestjs-opaque-keys/last-address';
import { usageMigrations } from 'nestjs-opaque-keys/usage';
import request from 'supertest';
import { databaseOptions } from '../../sample-app/config/database.options.js';
import { SampleAppConfig } from '../../sample-app/config/sample-app.config.js';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { serverUrl, testDatabase, testSchema } from '../support/database.js';
import { LogCapture } from '../support/log-capture.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const KEYS_IN_TEXT = /\bsk_(?:live|test)_[0-9A-Za-z]+/g;

/**
 * The sample app in its production shape: `DATABASE_URL` names a server, the
 * shipped migrations make the tables (no synchronize), and two instances on
 * two ports share it. The two-instance run needs a server (DB_TYPE=postgres or
 * mariadb); on SQLite this file checks the options the URL leads to.
 */
describe('sample app with DATABASE_URL', () => {
  it('reads DATABASE_URL and turns it into migrations without synchronize', () => {
    const config = SampleAppConfig.fromEnv({ DATABASE_URL: 'postgres://app@db:5432/keys' });
    expect(config.databaseUrl).toBe('postgres://app@db:5432/keys');
    const options = databaseOptions(config) as Record<string, any>;
    expect(options).toMatchObject({ type: 'postgres', synchronize: false, migrationsRun: true });
    expect(options.migrations.length).toBeGreaterThan(0);
    expect(databaseOptions(SampleAppConfig.fromEnv({ DATABASE_URL: 'mariadb://root@db/keys' }))).toMatchObject({
      type: 'mariadb',
      url: 'mysql://root@db/keys',
    });
    expect(() => SampleAppConfig.fromEnv({ DATABASE_URL: 'sqlite:///tmp/x' })).toThrow(/postgres:\/\//);
    // Without DATABASE_URL: the embedded file, its tables made by the same migrations (never synchronize): the
    // core's, and the usage, owner-policies and last-address features'.
    const sqlite = databaseOptions(SampleAppConfig.fromEnv({ DATABASE_PATH: ':memory:' })) as Record<string, any>;
    expect(sqlite).toMatchObject({ type: 'better-sqlite3', synchronize: false, migrationsRun: true });
    expect(sqlite.migrations.map((m: { name: string }) => m.name)).toEqual(
      [
        ...apiKeyMigrations('better-sqlite3'),
        ...usageMigrations('better-sqlite3'),
        ...ownerPolicyMigrations('better-sqlite3'),
        ...lastAddressMigrations('better-sqlite3'),
      ].map((m) => m.name),
    );
  });

  it('refuses, with the way out, a SQLite file an older sample made with synchronize', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sample-old-'));
    try {
      const path = join(dir, 'sample.sqlite');
      const db = new Database(path);
      db.exec('CREATE TABLE api_keys (id varchar(36) PRIMARY KEY)');
      db.close();
      const config = SampleAppConfig.fromEnv({ DATABASE_PATH: path });
      expect(() => databaseOptions(config)).toThrow(
        `${path} holds keys made by an older sample app (synchronize, no migrations recorded). Delete the file`,
      );
      // Once the migrations are recorded (or marked as run), it is the sample's own file again.
      const migrated = new Database(path);
      migrated.exec('CREATE TABLE migrations (id integer PRIMARY KEY)');
      migrated.close();
      expect(databaseOptions(config)).toMatchObject({ type: 'better-sqlite3', database: path });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  if (testDatabase() === 'sqlite') return;

  const saved = { DATABASE_URL: process.env.DATABASE_URL, PORT: process.env.PORT };
  const apps: INestApplication[] = [];
  let storage: ThrottlerStorageProcess | undefined;
  afterAll(async () => {
    for (const app of apps) await app.close();
    storage?.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  /** This test file's private schema (PostgreSQL) or database (MariaDB) on the server, as a DATABASE_URL. */
  function databaseUrl(): string {
    const url = new URL(serverUrl());
    if (testDatabase() === 'postgres') url.searchParams.set('options', `-c search_path=${testSchema()}`);
    else url.pathname = `/${testSchema()}`;
    return url.toString();
  }

  async function start(): Promise<{ app: INestApplication; printed: string }> {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // The real @nestjs/throttler in-memory storage, in a child process (see throttler-storage.ts), shared.
      storage ??= await ThrottlerStorageProcess.start();
      const app = await createSampleApp({ logger: new LogCapture(), rateLimitStorage: storage });
      apps.push(app);
      await app.listen(0);
      return { app, printed: write.mock.calls.map(([chunk]) => String(chunk)).join('') };
    } finally {
      write.mockRestore();
    }
  }

  it('runs two instances on one database: migrated once, a change on one seen on the other', async () => {
    process.env.DATABASE_URL = databaseUrl();
    process.env.PORT = '0';
    const a = await start();
    const b = await start(); // finds the migrations recorded and the admin key issued
    const admin = a.printed.match(KEYS_IN_TEXT)?.[0] ?? '';
    expect(admin).not.toBe('');
    expect(b.printed).not.toMatch(KEYS_IN_TEXT);
    const bearer = { Authorization: `Bearer ${admin}` };
    const issued = await request(a.app.getHttpServer())
      .post('/keys')
      .set(bearer)
      .send({ name: 'reader', ownerId: 'acme', scopes: ['orders:read'] });
    expect(issued.status).toBe(201);
    await request(b.app.getHttpServer()).get('/orders').set('X-API-Key', issued.body.key).expect(200);
    await request(b.app.getHttpServer())
      .post(`/keys/${issued.body.record.id}/revoke`)
      .set(bearer)
      .send({ reason: 'two instances' })
      .expect(200);
    await request(a.app.getHttpServer()).get('/orders').set('X-API-Key', issued.body.key).expect(401);
  });
});
