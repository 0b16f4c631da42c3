import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { API_KEY_STATUSES, apiKeyStatus, type ApiKeyStatus } from 'nestjs-opaque-keys';
import request from 'supertest';
import { buildAdminAssets } from '../support/admin-assets.js';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const API = '/admin/keys/api';
const HOUR = 3_600_000;
const OWNER = 'status-owner';

/**
 * A key's status (revoked > disabled > expired > used-up > active), the same
 * in `ApiKeyService.list({ status })` (SQL), in `apiKeyStatus` (the records),
 * in the admin API's filter and rows: keys used up by real requests over
 * HTTP, on the configured database (SQLite, PostgreSQL, MariaDB).
 */
describe('key status: used-up beside active, disabled, revoked and expired', () => {
  let t: TestApp;
  let admin: string;
  const ids: Record<string, string> = {};
  const http = () => request(t.app.getHttpServer());
  const orders = async (key: string) => (await http().get('/orders').set('Authorization', `Bearer ${key}`)).status;
  const as = () => ({ Authorization: `Bearer ${admin}` });
  const listed = async (status: ApiKeyStatus) =>
    (await t.service.list({ ownerId: OWNER, status })).items.map((record) => record.name).sort();
  const names = (page: { items: { name: string }[] }) => page.items.map((item) => item.name).sort();
  const keys = () => t.dataSource.getRepository('ApiKeyEntity');

  beforeAll(async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      imports: [ApiKeyAdminModule.forRoot({ assetsDir: buildAdminAssets() })],
    });
    admin = (await t.service.issue({ name: 'status admin', scopes: ['keys:admin', 'orders:*'] })).key;
    const issue = async (name: string, input: Record<string, unknown> = {}) => {
      const issued = await t.service.issue({ name, ownerId: OWNER, scopes: ['orders:read'], ...input });
      ids[name] = issued.record.id;
      return issued.key;
    };
    await issue('plain');
    await issue('single use, unused', { maxUses: 1 });
    const once = await issue('single use, used', { maxUses: 1 });
    expect(await orders(once)).toBe(200);
    expect(await orders(once)).not.toBe(200); // no use left
    const metered = await issue('metered, refill later', {
      credits: { remaining: 2, refill: { amount: 5, intervalMs: HOUR } },
    });
    expect([await orders(metered), await orders(metered)]).toEqual([200, 200]);
    expect(await orders(metered)).toBe(429); // out of credits until the refill
    const due = await issue('metered, refill due', {
      credits: { remaining: 1, refill: { amount: 5, intervalMs: HOUR } },
    });
    expect(await orders(due)).toBe(200);
    // The refill fell due (the last one was two hours ago): usable again, before any request applies it.
    await keys().update({ id: ids['metered, refill due'] }, { refilledAtMs: Date.now() - 2 * HOUR });
    // Rotated with a grace period: the balance moved to the successor (same name), which spends for both.
    const rotating = await issue('rotated in grace', { maxUses: 3 });
    expect(await orders(rotating)).toBe(200);
    const successor = await t.service.rotate(ids['rotated in grace'], { gracePeriodMs: HOUR });
    expect((await t.service.get(ids['rotated in grace'])).remainingUses).toBe(0);
    expect(successor.record.remainingUses).toBe(2);
    expect(await orders(rotating)).toBe(200); // the old key still passes, spending from its successor
    await issue('credits set to 0', { credits: { remaining: 10 } });
    await t.service.setCredits(ids['credits set to 0'], 0);
    // Used up and more: the state of higher precedence wins.
    for (const [name, then] of [
      ['used up, revoked', (id: string) => t.service.revoke(id)],
      ['used up, disabled', (id: string) => t.service.disable(id)],
      ['used up, expired', (id: string) => keys().update({ id }, { expiresAt: new Date(Date.now() - 1000) })],
    ] as const) {
      const key = await issue(name, { maxUses: 1, expiresAt: new Date(Date.now() + HOUR) });
      expect(await orders(key)).toBe(200);
      await then(ids[name]);
    }
  });
  afterAll(() => t?.close());

  it('list({ status }) puts each key in exactly one state, by precedence', async () => {
    expect(await listed('used-up')).toEqual(['credits set to 0', 'metered, refill later', 'single use, used']);
    expect(await listed('active')).toEqual([
      'metered, refill due',
      'plain',
      'rotated in grace',
      'rotated in grace',
      'single use, unused',
    ]);
    expect(await listed('revoked')).toEqual(['used up, revoked']);
    expect(await listed('disabled')).toEqual(['used up, disabled']);
    expect(await listed('expired')).toEqual(['used up, expired']);
    const totals = await Promise.all(
      API_KEY_STATUSES.map(async (status) => (await t.service.list({ ownerId: OWNER, status })).total),
    );
    expect(totals.reduce((sum, n) => sum + n, 0)).toBe((await t.service.list({ ownerId: OWNER })).total);
  });

  it('apiKeyStatus(record) agrees with the SQL filter for every key', async () => {
    const now = Date.now();
    for (const status of API_KEY_STATUSES) {
      for (const record of (await t.service.list({ ownerId: OWNER, status })).items) {
        expect([record.name, apiKeyStatus(record, now)]).toEqual([record.name, status]);
      }
    }
  });

  it('the admin API shows "used-up" and filters by it, in the plain list and in a search', async () => {
    const page = async (query: string) => (await http().get(`${API}/keys?${query}`).set(as()).expect(200)).body;
    const used = ['credits set to 0', 'metered, refill later', 'single use, used'];
    expect(names(await page(`ownerId=${OWNER}&status=used-up`))).toEqual(used);
    expect(names(await page(`ownerId=${OWNER}&status=used-up&q=e&sort=name`))).toEqual(used); // the in-memory path
    expect(names(await page(`ownerId=${OWNER}&status=active`))).toEqual([
      'metered, refill due',
      'plain',
      'rotated in grace',
      'rotated in grace',
      'single use, unused',
    ]);
    expect(names(await page(`ownerId=${OWNER}&status=expiring`))).toEqual(['rotated in grace']); // its grace ends
    const all = await page(`ownerId=${OWNER}&limit=100`);
    const statusOf = Object.fromEntries(
      all.items.map((row: { name: string; status: string }) => [row.name, row.status]),
    );
    expect(statusOf).toEqual({
      plain: 'active',
      'single use, unused': 'active',
      'single use, used': 'used-up',
      'metered, refill later': 'used-up',
      'metered, refill due': 'active',
      'credits set to 0': 'used-up',
      'rotated in grace': 'active', // both keys of the family
      'used up, revoked': 'revoked',
      'used up, disabled': 'disabled',
      'used up, expired': 'expired',
    });
    const one = await http().get(`${API}/keys/${ids['single use, used']}`).set(as()).expect(200);
    expect(one.body).toMatchObject({ status: 'used-up', remainingUses: 0, expiringSoon: false });
    const bad = await http().get(`${API}/keys?status=spent`).set(as()).expect(400);
    expect(bad.body.message).toBe('status must be one of revoked, disabled, expired, used-up, active, expiring');
  });

  it('adding credits makes a used-up key active again', async () => {
    const id = ids['credits set to 0'];
    await http().post(`${API}/keys/${id}/credits`).set(as()).send({ add: 3 });
    const after = (await http().get(`${API}/keys/${id}`).set(as()).expect(200)).body;
    expect(after).toMatchObject({ status: 'active', remainingUses: 3 });
  });
});
