import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { generateApiKey, type IssuedApiKey } from 'nestjs-opaque-keys';
import { OrdersController, RefundsController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('ApiKeyGuard over HTTP', () => {
  let t: TestApp;
  let reader: IssuedApiKey;
  const issued: string[] = [];
  const http = () => request(t.app.getHttpServer());

  async function issue(scopes: string[], extra: Record<string, unknown> = {}): Promise<IssuedApiKey> {
    const result = await t.service.issue({ name: 'test key', scopes, ...extra });
    issued.push(result.key);
    return result;
  }

  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController, RefundsController] });
    reader = await issue(['orders:read'], { ownerId: 'team-1', metadata: { plan: 'pro' } });
  });

  afterAll(async () => {
    await t.close();
    // No plaintext key may appear in any log line written during the suite.
    const logs = t.logs.lines.join('\n');
    for (const key of issued) expect(logs).not.toContain(key);
    expect(t.logs.lines.length).toBeGreaterThan(0);
  });

  it('lets a valid key through with Authorization: Bearer and hands over the principal', async () => {
    const res = await http().get('/orders').set('Authorization', `Bearer ${reader.key}`).expect(200);
    expect(res.body.principal).toEqual({
      id: reader.record.id,
      familyId: reader.record.id,
      name: 'test key',
      ownerId: 'team-1',
      scopes: ['orders:read'],
      metadata: { plan: 'pro' },
      expiresAt: null,
      environment: null,
      remainingUses: null,
      rateLimit: null,
    });
    expect(JSON.stringify(res.body)).not.toContain(reader.key);
    expect(res.body.principal).not.toHaveProperty('hash');
  });

  it('accepts the key in X-API-Key, and the same key in both headers', async () => {
    await http().get('/orders').set('X-API-Key', reader.key).expect(200);
    await http().get('/orders').set('X-API-Key', reader.key).set('Authorization', `Bearer ${reader.key}`).expect(200);
    const res = await http().get('/orders/owner').set('X-API-Key', reader.key).expect(200);
    expect(res.body).toEqual({ ownerId: 'team-1' });
  });

  it('runs exactly one SQL statement per verified request', async () => {
    const statements = await t.queries.during(() =>
      http().get('/orders').set('Authorization', `Bearer ${reader.key}`).expect(200),
    );
    expect(statements).toHaveLength(1);
    // By hash: `= ?` on SQLite; on PostgreSQL / MariaDB the batched forms `= ANY($1)` / `IN (?)`.
    expect(statements[0]).toMatch(
      /^SELECT .* FROM (\S+\.)?[`"]api_keys[`"] .*WHERE .*[`"]hash[`"] (= \?|= ANY\(\$1\)|IN \(\?\))$/,
    );
  });

  it('answers a request without credentials with a bare challenge', async () => {
    const res = await http().get('/orders').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(res.body).toEqual({ statusCode: 401, message: 'API key required', error: 'Unauthorized' });
  });

  it('gives unknown, malformed, bad-checksum, wrong-prefix, revoked and expired keys one identical 401', async () => {
    const revoked = await issue(['orders:read']);
    await t.service.revoke(revoked.record.id, 'test');
    const expired = await issue(['orders:read'], { expiresAt: new Date(Date.now() + 60_000) });
    await t.dataSource
      .getRepository('ApiKeyEntity')
      .update({ id: expired.record.id }, { expiresAt: new Date(Date.now() - 1000) });
    const valid = reader.key;
    const badChecksum = valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A');
    const cases: [string, string, number][] = [
      ['unknown', generateApiKey({ prefix: 'sk' }), 1],
      ['malformed', 'not-a-key', 0],
      ['bad checksum', badChecksum, 0],
      ['wrong prefix', generateApiKey({ prefix: 'pk' }), 0],
      ['empty bearer', '', 0],
      ['revoked', revoked.key, 1],
      ['expired', expired.key, 1],
    ];
    const bodies = new Set<string>();
    for (const [label, key, expectedQueries] of cases) {
      let res!: request.Response;
      const statements = await t.queries.during(async () => {
        res = await http().get('/orders').set('Authorization', `Bearer ${key}`);
      });
      expect({ label, status: res.status, queries: statements.length }).toEqual({
        label,
        status: 401,
        queries: expectedQueries,
      });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
      bodies.add(JSON.stringify(res.body));
    }
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0])).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
    // The log says why, with the key id where one is known, and never the key.
    const logs = t.logs.lines.join('\n');
    expect(logs).toContain(`rejected API key ${revoked.record.id}: revoked`);
    expect(logs).toContain(`rejected API key ${expired.record.id}: expired`);
  });

  it('answers a missing scope with 403 insufficient_scope naming the scope', async () => {
    const res = await http().post('/orders').set('Authorization', `Bearer ${reader.key}`).expect(403);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="orders:read orders:write"',
    );
    expect(res.body).toEqual({ statusCode: 403, message: 'Insufficient scope', error: 'Forbidden' });
  });

  it('applies controller and handler requirements together', async () => {
    const refundOnly = await issue(['orders:refund']);
    const both = await issue(['orders:refund', 'billing']);
    const res = await http().post('/refunds').set('X-API-Key', refundOnly.key).expect(403);
    expect(res.headers['www-authenticate']).toContain('scope="billing orders:refund"');
    await http().post('/refunds').set('X-API-Key', both.key).expect(201);
  });

  it('honours wildcard grants on segment boundaries and any-of requirements', async () => {
    const wildcard = await issue(['orders:*']);
    await http().post('/orders').set('X-API-Key', wildcard.key).expect(201);
    const admin = await issue(['orders:admin']);
    await http().get('/orders/either').set('X-API-Key', admin.key).expect(200);
    const other = await issue(['ordersx:*', 'billing']);
    await http().get('/orders/either').set('X-API-Key', other.key).expect(403);
    const root = await issue(['*']);
    await http().post('/refunds').set('X-API-Key', root.key).expect(201);
  });

  it('rejects two different keys with 400 invalid_request', async () => {
    const other = await issue(['orders:read']);
    const res = await http()
      .get('/orders')
      .set('Authorization', `Bearer ${reader.key}`)
      .set('X-API-Key', other.key)
      .expect(400);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_request"');
    expect(res.body.message).toBe('Send one API key, not two different ones');
  });

  it('never reads a key from the query string', async () => {
    await http().get(`/orders?api_key=${reader.key}&access_token=${reader.key}`).expect(401);
  });

  it('applies revocation on the very next request', async () => {
    const key = await issue(['orders:read']);
    await http().get('/orders').set('X-API-Key', key.key).expect(200);
    await t.service.revoke(key.record.id);
    await http().get('/orders').set('X-API-Key', key.key).expect(401);
  });

  it('applies scope changes on the very next request', async () => {
    const key = await issue(['orders:read']);
    await http().post('/orders').set('X-API-Key', key.key).expect(403);
    await t.service.updateScopes(key.record.id, ['orders:read', 'orders:write']);
    await http().post('/orders').set('X-API-Key', key.key).expect(201);
    await t.service.updateScopes(key.record.id, []);
    await http().get('/orders').set('X-API-Key', key.key).expect(403);
    await http().get('/orders/owner').set('X-API-Key', key.key).expect(200);
  });

  it('rotates without grace: the old key stops at once, the successor works', async () => {
    const old = await issue(['orders:read']);
    const rotated = await t.service.rotate(old.record.id);
    issued.push(rotated.key);
    await http().get('/orders').set('X-API-Key', old.key).expect(401);
    await http().get('/orders').set('X-API-Key', rotated.key).expect(200);
  });

  it('rotates with grace: both keys work until the grace period ends', async () => {
    const old = await issue(['orders:read']);
    const rotated = await t.service.rotate(old.record.id, { gracePeriodMs: 1500 });
    issued.push(rotated.key);
    await http().get('/orders').set('X-API-Key', old.key).expect(200);
    await http().get('/orders').set('X-API-Key', rotated.key).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await http().get('/orders').set('X-API-Key', old.key).expect(401);
    await http().get('/orders').set('X-API-Key', rotated.key).expect(200);
  });

  it('lets @Public() routes through without a key', async () => {
    const res = await http().get('/orders/open').expect(200);
    expect(res.body).toEqual({ open: true, principal: null });
  });

  it('stores no plaintext key: no column of any row authenticates', async () => {
    const rows: Record<string, unknown>[] = await t.dataSource.query(
      `SELECT * FROM ${t.dataSource.driver.escape('api_keys')}`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(issued.length);
    const dump = JSON.stringify(rows);
    for (const key of issued) expect(dump).not.toContain(key);
    const values = new Set(rows.flatMap((row) => Object.values(row)).filter((v): v is string => typeof v === 'string'));
    for (const value of values) {
      await http().get('/orders/owner').set('X-API-Key', value).expect(401);
    }
  });
});
