import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyLastAddressRecorder } from 'nestjs-opaque-keys/last-address';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { serverUrl, testDatabase, testSchema } from '../support/database.js';
import { LogCapture } from '../support/log-capture.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

const KEYS_IN_TEXT = /\bsk_(?:live|test)_[0-9A-Za-z]+/g;

/**
 * The sample app records where each key was last used from, as its network only (`truncate: true`), on its
 * migrated tables: the embedded SQLite file, or this run's PostgreSQL / MariaDB through `DATABASE_URL`.
 */
describe(`sample app: GET /keys/:id/last-address (${testDatabase()})`, () => {
  const saved = {
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_PATH: process.env.DATABASE_PATH,
    PORT: process.env.PORT,
  };
  const dir = mkdtempSync(join(tmpdir(), 'sample-last-address-'));
  let storage: ThrottlerStorageProcess;
  let app: INestApplication;
  let admin: string;
  const http = () => request(app.getHttpServer());
  const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

  beforeAll(async () => {
    process.env.PORT = '0';
    if (testDatabase() === 'sqlite') {
      delete process.env.DATABASE_URL;
      process.env.DATABASE_PATH = join(dir, 'sample.sqlite');
    } else {
      const url = new URL(serverUrl());
      if (testDatabase() === 'postgres') url.searchParams.set('options', `-c search_path=${testSchema()}`);
      else url.pathname = `/${testSchema()}`;
      process.env.DATABASE_URL = url.toString();
    }
    storage = await ThrottlerStorageProcess.start();
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      app = await createSampleApp({ logger: new LogCapture(), rateLimitStorage: storage });
      await app.listen(0);
      admin =
        write.mock.calls
          .map(([chunk]) => String(chunk))
          .join('')
          .match(KEYS_IN_TEXT)?.[0] ?? '';
    } finally {
      write.mockRestore();
    }
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    storage?.stop();
    rmSync(dir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("answers the key's network once a use is written, not a forwarded address, and null before", async () => {
    expect(admin).not.toBe('');
    const issued = await http()
      .post('/keys')
      .set(bearer(admin))
      .send({ name: 'reader', scopes: ['orders:read'] });
    expect(issued.status).toBe(201);
    const id = issued.body.record.id as string;
    expect((await http().get(`/keys/${id}/last-address`).set(bearer(admin)).expect(200)).body).toEqual({
      lastUsedFrom: null,
    });

    await http().get('/orders').set(bearer(issued.body.key)).set('X-Forwarded-For', '203.0.113.7').expect(200);
    await app.get(ApiKeyLastAddressRecorder).flush();
    const { lastUsedFrom } = (await http().get(`/keys/${id}/last-address`).set(bearer(admin)).expect(200)).body;
    expect(lastUsedFrom.address).toBe('127.0.0.0/24');
    expect(Math.abs(new Date(lastUsedFrom.usedAt).getTime() - Date.now())).toBeLessThan(60_000);

    await http().get(`/keys/${randomUUID()}/last-address`).set(bearer(admin)).expect(404);
    await http().get(`/keys/${id}/last-address`).set(bearer(issued.body.key)).expect(403);
  });
});
