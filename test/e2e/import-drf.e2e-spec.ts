import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { hashApiKey } from 'nestjs-opaque-keys';
import {
  ApiKeyImporter,
  drfFormat,
  lookupValueOf,
  withImport,
  type ApiKeyImportReport,
} from 'nestjs-opaque-keys/import';
import { OptionalKeyController, OrdersController } from '../support/controllers.js';
import { drfKey, drfTable, type DrfKey } from '../support/import-sources.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('import from djangorestframework-api-key (its schema and hashers reproduced from its source)', () => {
  let t: TestApp;
  let report: ApiKeyImportReport;
  const http = () => request(t.app.getHttpServer());
  const made: DrfKey[] = [
    drfKey('sha512 key'),
    drfKey('pbkdf2 key', { hasher: 'pbkdf2' }),
    drfKey('revoked key', { revoked: true }),
    drfKey('expired key', { expiry: '2020-01-01 00:00:00' }),
    drfKey('fresh key'),
  ];
  const argon2 = drfKey('argon2 key');
  argon2.row.hashed_key = 'argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$bm90IHJlYWxseSBhIGhhc2g';
  const keyIdOf = (i: number) => report.imported.find((r) => r.sourceId === made[i].row.id)!.keyId;
  const storedHash = async (i: number) =>
    (await t.dataSource.getRepository('ApiKeyEntity').findOneByOrFail({ id: keyIdOf(i) })).hash;
  const foreignHash = async (i: number) =>
    (await t.dataSource.getRepository('ApiKeyImportEntity').findOneByOrFail({ keyId: keyIdOf(i) })).foreignHash;

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController, OptionalKeyController],
      options: { prefix: 'sk' },
      extras: { features: [withImport({ formats: [drfFormat()] })] },
    });
    const rows = drfTable([...made.map((m) => m.row), argon2.row]);
    report = await t.app.get(ApiKeyImporter).import({ from: 'drf', rows, scopes: ['orders:read'] });
  });
  afterAll(() => t?.close());

  it('imports each row under the lookup value of its prefix, its Django hash kept aside; reports what it cannot read', async () => {
    expect(report.imported).toHaveLength(5);
    expect(report.refused).toEqual([
      { index: 5, sourceId: argon2.row.id, reason: expect.stringContaining('not a sha512$$ or pbkdf2 Django hash') },
    ]);
    expect(await storedHash(0)).toBe(lookupValueOf('drf', made[0].row.prefix as string));
    expect(await foreignHash(0)).toBe(made[0].row.hashed_key);
    expect(await t.service.get(keyIdOf(0))).toMatchObject({
      name: 'sha512 key',
      scopes: ['orders:read'],
      hint: `sk_drf:${made[0].row.prefix}`,
    });
  });

  it('verifies with the source hash on first use and upgrades the row once (one change), then verifies natively', async () => {
    for (const i of [0, 1]) {
      const first = await t.queries.during(() => http().get('/orders').set('X-API-Key', made[i].key).expect(200));
      const writes = first.filter((sql) => /^(UPDATE|INSERT|DELETE)/.test(sql));
      expect(writes).toHaveLength(2); // the key row's hash, the import row's foreign hash: one transaction
      expect(first.filter((sql) => /^(START TRANSACTION|BEGIN)/.test(sql))).toHaveLength(1);
      expect(await storedHash(i)).toBe(hashApiKey(made[i].key));
      expect(await foreignHash(i)).toBeNull();
      const next = await t.queries.during(() => http().get('/orders').set('X-API-Key', made[i].key).expect(200));
      expect(next).toHaveLength(1);
      expect(next[0]).toMatch(/^SELECT/);
    }
  });

  it('a wrong secret under a known prefix gets the 401 of any invalid key, and writes nothing', async () => {
    const [prefix] = made[4].key.split('.');
    const wrong = `${prefix}.${'x'.repeat(32)}`;
    const statements = await t.queries.during(async () => {
      const res = await http().get('/orders').set('X-API-Key', wrong).expect(401);
      expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
    });
    expect(statements.filter((sql) => /^(UPDATE|INSERT|DELETE)/.test(sql))).toEqual([]);
    expect(await storedHash(4)).toBe(lookupValueOf('drf', prefix));
    await http().get('/maybe').set('X-API-Key', wrong).expect(401);
    await http().get('/orders').set('X-API-Key', made[4].key).expect(200);
  });

  it('keeps revocation and expiry: both 401', async () => {
    await http().get('/orders').set('X-API-Key', made[2].key).expect(401);
    await http().get('/orders').set('X-API-Key', made[3].key).expect(401);
  });

  it('upgrades once under concurrent first uses, all of which pass', async () => {
    const extra = drfKey('concurrent');
    const [again] = (
      await t.app.get(ApiKeyImporter).import({ from: 'drf', rows: drfTable([extra.row]), scopes: ['orders:read'] })
    ).imported;
    let statuses: number[] = [];
    const statements = await t.queries.during(async () => {
      statuses = await Promise.all(
        Array.from({ length: 8 }, () =>
          http()
            .get('/orders')
            .set('X-API-Key', extra.key)
            .then((r) => r.status),
        ),
      );
    });
    expect(statuses).toEqual(Array(8).fill(200));
    expect(statements.filter((sql) => /^UPDATE/.test(sql))).toHaveLength(2);
    const row = await t.dataSource.getRepository('ApiKeyEntity').findOneByOrFail({ id: again.keyId });
    expect(row.hash).toBe(hashApiKey(extra.key));
  });

  it('rotates an imported key into a native key; re-running the import changes nothing', async () => {
    const rotated = await t.service.rotate(keyIdOf(1));
    await http().get('/orders').set('X-API-Key', rotated.key).expect(200);
    await http().get('/orders').set('X-API-Key', made[1].key).expect(401);
    const again = await t.app
      .get(ApiKeyImporter)
      .import({ from: 'drf', rows: drfTable(made.map((m) => m.row)), scopes: ['orders:read'] });
    expect(again).toMatchObject({ imported: [], unchanged: 5, changed: [], refused: [] });
  });
});
