import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { serverUrl, testDatabase, testSchema } from '../support/database.js';
import { LogCapture } from '../support/log-capture.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

/**
 * Owner policies in the sample app, on its migrated tables (the embedded SQLite file, or this file's schema on
 * the PostgreSQL / MariaDB server through `DATABASE_URL`): set in its console, enforced by its key API and its
 * guarded routes.
 */
describe('sample app: owner policies', () => {
  const saved = { DATABASE_PATH: process.env.DATABASE_PATH, DATABASE_URL: process.env.DATABASE_URL };
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-sample-policies-'));
  let app: INestApplication;
  let storage: ThrottlerStorageProcess;
  let ops: string;
  const as = (key: string) => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    if (testDatabase() === 'sqlite') process.env.DATABASE_PATH = join(dir, 'sample.sqlite');
    else {
      const url = new URL(serverUrl());
      if (testDatabase() === 'postgres') url.searchParams.set('options', `-c search_path=${testSchema()}`);
      else url.pathname = `/${testSchema()}`;
      process.env.DATABASE_URL = url.toString();
    }
    storage = await ThrottlerStorageProcess.start();
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true); // the bootstrap banner
    try {
      app = await createSampleApp({ logger: new LogCapture(), rateLimitStorage: storage });
    } finally {
      write.mockRestore();
    }
    const scopes = ['keys:admin', 'keys:any-owner', 'orders:*'];
    ops = (await app.get(ApiKeyService).issue({ name: 'ops', ownerId: 'ops', scopes })).key;
  });
  afterAll(async () => {
    await app?.close();
    storage?.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets a policy in the console: an existing key breaking it gets 401 at once, a new one 403; removing it restores the key', async () => {
    const http = request(app.getHttpServer());
    const issued = await http
      .post('/keys')
      .set(as(ops))
      .send({ name: 'shop writer', ownerId: 'shop', scopes: ['orders:read', 'orders:write'] })
      .expect(201);
    const shopKey: string = issued.body.key;
    await http.get('/orders').set(as(shopKey)).expect(200);

    const set = await http
      .put('/admin/api/owner-policies/shop')
      .set(as(ops))
      .send({ scopes: ['orders:read'] })
      .expect(200);
    expect(set.body.disabled).toEqual([issued.body.record.id]);
    await http.get('/orders').set(as(shopKey)).expect(401);

    const refused = await http
      .post('/keys')
      .set(as(ops))
      .send({ name: 'another writer', ownerId: 'shop', scopes: ['orders:write'] });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('ERR_API_KEY_OWNER_POLICY');
    await http
      .post('/keys')
      .set(as(ops))
      .send({ name: 'reader', ownerId: 'shop', scopes: ['orders:read'] })
      .expect(201);

    await http.delete('/admin/api/owner-policies/shop').set(as(ops)).expect(200);
    await http.get('/orders').set(as(shopKey)).expect(200);
  });
});
