import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { ADMIN_CONTENT_SECURITY_POLICY } from 'nestjs-opaque-keys/admin';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { LogCapture } from '../support/log-capture.js';
import { ThrottlerStorageProcess } from '../support/throttler-storage.js';

/** The sample app mounts the admin console at /admin (its JSON API at /admin/api), behind its global guard. */
describe('sample app admin console', () => {
  const previous = process.env.DATABASE_PATH;
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-sample-admin-'));
  let app: INestApplication;
  let admin: string;
  let storage: ThrottlerStorageProcess;

  beforeAll(async () => {
    process.env.DATABASE_PATH = join(dir, 'sample.sqlite');
    // The sample app's keys have a rate limit: the real @nestjs/throttler storage, in a child process.
    storage = await ThrottlerStorageProcess.start();
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true); // the bootstrap banner
    try {
      app = await createSampleApp({ logger: new LogCapture(), rateLimitStorage: storage });
    } finally {
      write.mockRestore();
    }
    admin = (await app.get(ApiKeyService).issue({ name: 'console', scopes: ['keys:admin', 'orders:*'] })).key;
  });
  afterAll(async () => {
    await app?.close();
    storage?.stop();
    process.env.DATABASE_PATH = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers the console API for a keys:admin key only, with the console headers', async () => {
    const http = request(app.getHttpServer());
    const refused = await http.get('/admin/api/keys');
    expect(refused.status).toBe(401);
    expect(refused.headers['content-security-policy']).toBe(ADMIN_CONTENT_SECURITY_POLICY);
    const page = await http
      .get('/admin/api/keys?q=bootstrap')
      .set({ Authorization: `Bearer ${admin}` })
      .expect(200);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body.items.map((key: { name: string }) => key.name)).toEqual(['bootstrap admin']);
  });
});
