import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { generateApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const INTERVAL_MS = 2000;

/**
 * Every line is a bucket's first line or its summary (`(n more in the last 2 s)`),
 * at most two per interval, and together they count all `total` requests.
 */
function expectAggregated(lines: string[], head: RegExp, total: number, intervals: number): void {
  let counted = 0;
  for (const line of lines) {
    expect(line).toMatch(head);
    const more = /\((\d+) more in the last 2 s\)/.exec(line);
    counted += more ? Number(more[1]) : 1;
  }
  expect(counted).toBe(total);
  expect(lines.length).toBeLessThanOrEqual(2 * intervals);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `count` requests, 20 at a time, so that they all fall in one interval. */
async function burst(count: number, send: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => send(i + j)));
  }
}

/** Log volume is not in the client's hands: repeated lines are aggregated per key and reason. */
describe('ApiKeyGuard logs, aggregated', () => {
  let t: TestApp;
  const issued: string[] = [];
  const http = () => request(t.app.getHttpServer());
  const linesWith = (text: string) => t.logs.lines.filter((line) => line.includes(text));

  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { logIntervalMs: INTERVAL_MS } });
  });

  afterAll(async () => {
    await t.close();
    const text = t.logs.lines.join('\n');
    for (const key of issued) expect(text).not.toContain(key);
  });

  it('writes one WARN per revoked key and interval, then one summary with the count', async () => {
    const { key, record } = await t.service.issue({ name: 'revoked', scopes: ['orders:read'] });
    issued.push(key);
    await t.service.revoke(record.id, 'test');
    await sleep(INTERVAL_MS + 50); // a fresh interval
    const started = Date.now();
    await burst(40, () => http().get('/orders').set('X-API-Key', key).expect(401));
    const intervals = Math.ceil((Date.now() - started) / INTERVAL_MS);
    if (intervals === 1) {
      expect(linesWith(`rejected API key ${record.id}: revoked`)).toEqual([
        `warn rejected API key ${record.id}: revoked ApiKeyGuard`,
      ]);
    }
    await sleep(INTERVAL_MS + 100);
    const lines = linesWith(`rejected API key ${record.id}: revoked`);
    if (intervals === 1) {
      expect(lines).toEqual([
        `warn rejected API key ${record.id}: revoked ApiKeyGuard`,
        `warn rejected API key ${record.id}: revoked (39 more in the last 2 s) ApiKeyGuard`,
      ]);
    } else {
      // A loaded machine spread the burst over several intervals: two lines each at most, every request counted.
      expectAggregated(lines, new RegExp(`^warn rejected API key ${record.id}: revoked`), 40, intervals);
    }
  });

  it('puts a flood of distinct unknown keys in one bucket: two lines per interval, whatever their number', async () => {
    await sleep(INTERVAL_MS + 50);
    const before = t.logs.lines.length;
    const started = Date.now();
    await burst(200, () =>
      http()
        .get('/orders')
        .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
        .expect(401),
    );
    const intervals = Math.ceil((Date.now() - started) / INTERVAL_MS);
    await sleep(INTERVAL_MS + 100);
    const lines = t.logs.lines.slice(before).filter((line) => line.includes('rejected API key'));
    expectAggregated(lines, /^debug rejected API key: unknown/, 200, intervals);
  });

  it("logs a key with another prefix as 'prefix', not 'malformed', with the identical 401", async () => {
    await sleep(INTERVAL_MS + 50);
    const before = t.logs.lines.length;
    const foreign = await http()
      .get('/orders')
      .set('X-API-Key', generateApiKey({ prefix: 'pk' }))
      .expect(401);
    const unknown = await http()
      .get('/orders')
      .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
      .expect(401);
    expect(foreign.body).toEqual(unknown.body);
    expect(foreign.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
    const lines = t.logs.lines.slice(before);
    expect(lines).toContain('debug rejected API key: prefix ApiKeyGuard');
    expect(lines.some((line) => line.includes('malformed'))).toBe(false);
  });

  it('says (debug) why a key sent as Token, Basic or ?api_key= was not read; the answer is unchanged', async () => {
    await sleep(INTERVAL_MS + 50);
    const { key } = await t.service.issue({ name: 'misplaced', scopes: ['orders:read'] });
    issued.push(key);
    const before = t.logs.lines.length;
    const basic = Buffer.from(`user:${key}`).toString('base64');
    for (const req of [
      http().get('/orders').set('Authorization', `Token ${key}`),
      http().get('/orders').set('Authorization', `Token ${key}`),
      http().get('/orders').set('Authorization', `Basic ${basic}`),
      http().get(`/orders?api_key=${key}`),
    ]) {
      const res = await req.expect(401);
      expect(res.body).toEqual({ statusCode: 401, message: 'API key required', error: 'Unauthorized' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    }
    const lines = t.logs.lines.slice(before);
    expect(lines).toEqual([
      'debug API key not read: Authorization Token is not read, send Authorization: Bearer <key> ApiKeyGuard',
      'debug API key not read: Authorization Basic is not read, send Authorization: Bearer <key> ApiKeyGuard',
      'debug API key not read: the query parameter api_key is never read (URLs are logged), send the key in a header ApiKeyGuard',
    ]);
  });

  it('writes one ERROR per kind of store failure and interval while the database is down (503s)', async () => {
    const { key } = await t.service.issue({ name: 'down', scopes: ['orders:read'] });
    issued.push(key);
    await sleep(INTERVAL_MS + 50);
    const before = t.logs.lines.length;
    await t.dataSource.destroy();
    let intervals = 1;
    try {
      const started = Date.now();
      await burst(30, () => http().get('/orders').set('X-API-Key', key).expect(503));
      intervals = Math.ceil((Date.now() - started) / INTERVAL_MS);
      await sleep(INTERVAL_MS + 100);
    } finally {
      await t.dataSource.initialize();
    }
    const errors = t.logs.lines.slice(before).filter((line) => line.startsWith('error key store unavailable'));
    if (intervals === 1) {
      expect(errors).toHaveLength(2);
      expect(errors[1]).toMatch(/\(29 more in the last 2 s\)\s+ApiKeyGuard$/);
    } else {
      expectAggregated(errors, /^error key store unavailable/, 30, intervals);
    }
  });
});
