import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { hashApiKey } from 'nestjs-opaque-keys';
import { ApiKeyImporter, betterAuthFormat, withImport, type ApiKeyImportReport } from 'nestjs-opaque-keys/import';
import { OptionalKeyController, OrdersController } from '../support/controllers.js';
import { betterAuthKeys, handRolledKey, handRolledTable, type BetterAuthSource } from '../support/import-sources.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const features = [
  withImport({
    formats: [
      betterAuthFormat({ prefix: 'ba_' }),
      { name: 'hand-rolled', prefix: 'hr_', length: 43, hash: 'sha256-hex' },
    ],
  }),
];

describe('import from Better Auth (keys made by better-auth itself)', () => {
  let t: TestApp;
  let importer: ApiKeyImporter;
  let source: BetterAuthSource;
  let report: ApiKeyImportReport;
  const http = () => request(t.app.getHttpServer());
  const keyOf = (name: string) => source.keys.find((k) => k.name === name)!.key;
  const idOf = (name: string) =>
    report.imported.find((i) => i.sourceId === source.keys.find((k) => k.name === name)!.id)!.keyId;

  beforeAll(async () => {
    source = betterAuthKeys(6);
    t = await createTestApp({
      controllers: [OrdersController, OptionalKeyController],
      options: { prefix: 'sk' },
      extras: { features },
    });
    importer = t.app.get(ApiKeyImporter);
    const unmappable = { ...source.rows[0], id: 'broken', key: 'not-a-sha256' };
    report = await importer.import({ from: 'better-auth', rows: [...source.rows, unmappable], actor: 'migration' });
  }, 180_000);
  afterAll(() => t?.close());

  it('imports every row with its name, owner, permissions as scopes, metadata, uses and state; reports the rest', async () => {
    expect(report.imported).toHaveLength(6);
    expect(report.refused).toEqual([{ index: 6, sourceId: 'broken', reason: 'key is not a SHA-256 in base64url' }]);
    const reader = await t.service.get(idOf('reader'));
    expect(reader).toMatchObject({
      name: 'reader',
      ownerId: source.userId,
      scopes: ['orders:read'],
      metadata: { plan: 'pro' },
    });
    expect(reader.hint).toBe(`sk_better-auth:ba-${keyOf('reader').slice(3, 6)}`);
    expect(await t.service.get(idOf('writer'))).toMatchObject({
      scopes: ['orders:read', 'orders:write'],
      remainingUses: 2,
    });
    expect((await t.service.get(idOf('disabled'))).disabledAt).not.toBeNull();
    expect((await t.service.get(idOf('expiring'))).expiresAt!.getTime()).toBeGreaterThan(Date.now() + 86_000_000);
  });

  it('stores the native SHA-256 converted from base64url: the key verifies in one statement, no write', async () => {
    const key = keyOf('reader');
    const [row] = await t.dataSource.query(
      `SELECT ${t.dataSource.driver.escape('hash')} AS h FROM api_keys WHERE id = '${idOf('reader')}'`,
    );
    expect(row.h).toBe(hashApiKey(key));
    const statements = await t.queries.during(() =>
      http().get('/orders').set('Authorization', `Bearer ${key}`).expect(200),
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^SELECT/);
  });

  it('enforces scopes and uses, and refuses disabled keys and wrong keys with the 401 of any invalid key', async () => {
    await http().post('/orders').set('X-API-Key', keyOf('reader')).expect(403);
    await http().post('/orders').set('X-API-Key', keyOf('writer')).expect(201);
    await http().post('/orders').set('X-API-Key', keyOf('writer')).expect(201);
    const exhausted = await http().post('/orders').set('X-API-Key', keyOf('writer')).expect(401);
    const disabled = await http().get('/orders').set('X-API-Key', keyOf('disabled')).expect(401);
    const wrong = keyOf('reader').slice(0, -1) + (keyOf('reader').endsWith('a') ? 'b' : 'a');
    const wrongLegacy = await http().get('/orders').set('X-API-Key', wrong).expect(401);
    const native = await http()
      .get('/orders')
      .set('X-API-Key', `sk_${'A'.repeat(49)}`)
      .expect(401);
    for (const res of [exhausted, disabled, wrongLegacy]) {
      expect(res.body).toEqual(native.body);
      expect(res.headers['www-authenticate']).toBe(native.headers['www-authenticate']);
    }
  });

  it('on an optional route, a wrong legacy key gets the 401 (a missing key passes)', async () => {
    const wrong = `ba_${'Q'.repeat(64)}`;
    await http().get('/maybe').set('X-API-Key', wrong).expect(401);
    await http().get('/maybe').expect(200);
  });

  it('rotates an imported key into a native one, and revokes', async () => {
    const key = keyOf('expiring');
    const rotated = await t.service.rotate(idOf('expiring'));
    expect(rotated.key).toMatch(/^sk_[A-Za-z0-9]+$/);
    await http().get('/orders').set('X-API-Key', rotated.key).expect(200);
    await http().get('/orders').set('X-API-Key', key).expect(401);
    const other = source.keys.find((k) => k.name === 'key 4')!;
    await http().get('/orders').set('X-API-Key', other.key).expect(200);
    await t.service.revoke(report.imported.find((i) => i.sourceId === other.id)!.keyId, 'moved');
    await http().get('/orders').set('X-API-Key', other.key).expect(401);
  });

  it('re-running imports nothing twice and reports a row changed in the source', async () => {
    const changed = source.rows.map((row) => (row.name === 'key 5' ? { ...row, name: 'renamed' } : row));
    const again = await importer.import({ from: 'better-auth', rows: changed });
    expect(again.imported).toHaveLength(0);
    expect(again.unchanged).toBe(5);
    expect(again.changed).toEqual([
      {
        index: changed.findIndex((row) => row.name === 'renamed'),
        sourceId: source.keys[5].id,
        keyId: idOf('key 5'),
        revoked: false,
      },
    ]);
    expect(again.refused).toEqual([]);
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM api_keys');
    expect(Number(n)).toBe(7); // six imported, one rotated in
  });
});

describe('import from a hand-rolled SHA-256 hex table', () => {
  let t: TestApp;
  let importer: ApiKeyImporter;
  const http = () => request(t.app.getHttpServer());
  const made = Array.from({ length: 5 }, (_, i) =>
    handRolledKey(i + 1, i === 0 ? 'orders:read,orders:write' : 'orders:read'),
  );
  let rows: Record<string, unknown>[];

  beforeAll(async () => {
    rows = handRolledTable(made.map((m) => m.row));
    t = await createTestApp({ controllers: [OrdersController], options: { prefix: 'sk' }, extras: { features } });
    importer = t.app.get(ApiKeyImporter);
  });
  afterAll(() => t?.close());

  it('imports, verifies the keys customers hold, carries a later revocation over on a re-run', async () => {
    const bad = { ...rows[1], id: 99, scopes: 'orders read!' };
    const report = await importer.import({ from: 'sha256-table', format: 'hand-rolled', rows: [...rows, bad] });
    expect(report.imported).toHaveLength(5);
    expect(report.refused).toHaveLength(1);
    expect(report.refused[0]).toMatchObject({ index: 5, sourceId: '99' });
    const first = await t.service.get(report.imported[0].keyId);
    expect(first).toMatchObject({ name: 'token 1', ownerId: 'user-1', scopes: ['orders:read', 'orders:write'] });
    await http().post('/orders').set('X-API-Key', made[0].key).expect(201);
    await http().post('/orders').set('X-API-Key', made[1].key).expect(403);
    await http().get('/orders').set('X-API-Key', made[1].key).expect(200);

    const revoked = rows.map((row) => (row.id === 2 ? { ...row, revoked_at: '2026-12-01 00:00:00' } : row));
    const again = await importer.import({ from: 'sha256-table', format: 'hand-rolled', rows: revoked });
    expect(again).toMatchObject({ imported: [], unchanged: 4, refused: [] });
    expect(again.changed).toEqual([{ index: 1, sourceId: '2', keyId: report.imported[1].keyId, revoked: true }]);
    await http().get('/orders').set('X-API-Key', made[1].key).expect(401);
  });

  it('refuses a key of a legacy format that was never imported, and a native-looking lookup string', async () => {
    await http().get('/orders').set('X-API-Key', handRolledKey(100, 'orders:read').key).expect(401);
    const statements = await t.queries.during(() =>
      http()
        .get('/orders')
        .set('X-API-Key', `legacy:hand-rolled:${'a'.repeat(40)}`)
        .expect(401),
    );
    expect(statements).toHaveLength(0);
  });
});
