import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyStoreUnavailableError } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

// The database goes away under a running app. Here on an SQLite file (closing
// and reopening the DataSource); it runs in the SQLite run only (jest.config.js),
// and the PostgreSQL fault suites (test:faults) take the server itself away.
describe('when the database is gone', () => {
  let t: TestApp;
  let dir: string;
  let key: string;
  const http = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apikeys-'));
    process.env.TEST_SQLITE_FILE = join(dir, 'keys.sqlite');
    t = await createTestApp({ controllers: [OrdersController] });
    delete process.env.TEST_SQLITE_FILE;
    // Reopening must find the data where it was, as after a real outage.
    t.dataSource.setOptions({ dropSchema: false, synchronize: false });
    ({ key } = await t.service.issue({ name: 'f', scopes: ['orders:read'] }));
  });

  afterAll(async () => {
    if (!t.dataSource.isInitialized) await t.dataSource.initialize();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After, never a pass and never a 401, then recovers without restart', async () => {
    await http().get('/orders').set('X-API-Key', key).expect(200);
    await t.dataSource.destroy();
    for (let i = 0; i < 5; i++) {
      const res = await http().get('/orders').set('X-API-Key', key);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        statusCode: 503,
        message: 'Authentication is temporarily unavailable',
        error: 'Service Unavailable',
      });
    }
    // Malformed keys are still refused without the database.
    await http().get('/orders').set('X-API-Key', 'garbage').expect(401);
    await t.dataSource.initialize();
    await http().get('/orders').set('X-API-Key', key).expect(200);
    expect(t.logs.lines.some((line) => line.includes('key store unavailable'))).toBe(true);
    expect(t.logs.lines.join('\n')).not.toContain(key);
  });

  it('fails lifecycle operations with ApiKeyStoreUnavailableError', async () => {
    await t.dataSource.destroy();
    try {
      await expect(t.service.issue({ name: 'x' })).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
      await expect(t.service.verify(key)).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
    } finally {
      await t.dataSource.initialize();
    }
  });
});
