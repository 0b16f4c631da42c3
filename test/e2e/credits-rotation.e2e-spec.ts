import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { PingController } from '../support/credit-controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MINUTES_5 = 300_000;

/**
 * A rotation family has one balance: use limits and credits are never
 * multiplied by rotating, with or without a grace period, sequentially or
 * under concurrency.
 */
describe('use limits and credits across rotation', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const ping = (key: string) =>
    http()
      .get('/ping')
      .set('X-API-Key', key)
      .then((response) => response.status);
  /** The balances of every key of a family (the sum is the family's balance). */
  async function familyBalances(familyId: string): Promise<number[]> {
    const { items } = await t.service.list({ limit: 100 });
    return items.filter((item) => item.familyId === familyId).map((item) => item.remainingUses ?? Number.NaN);
  }
  beforeAll(async () => {
    t = await createTestApp({ controllers: [PingController] });
  });
  afterAll(() => t.close());

  it('maxUses 3, rotated with a 300 s grace: 3 passes in all, on the old and the new key together', async () => {
    const old = await t.service.issue({ name: 'grace', maxUses: 3 });
    expect(await ping(old.key)).toBe(200);
    const next = await t.service.rotateByKey(old.key, { gracePeriodMs: MINUTES_5 });
    expect(next.record.remainingUses).toBe(2);
    expect(next.previous.remainingUses).toBe(0); // the balance moved; the old key holds none
    const statuses = [];
    for (const key of [old.key, next.key, old.key, next.key, old.key, next.key]) statuses.push(await ping(key));
    expect(statuses).toEqual([200, 200, 401, 401, 401, 401]);
    expect(await familyBalances(old.record.id)).toEqual([0, 0]);
  });

  it('50 concurrent requests split across the old and the new key never pass more than the grant', async () => {
    const old = await t.service.issue({ name: 'split', maxUses: 20 });
    const next = await t.service.rotate(old.record.id, { gracePeriodMs: MINUTES_5 });
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => ping(i % 2 ? next.key : old.key)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(20);
    expect(statuses.filter((status) => status === 401)).toHaveLength(30);
    expect(await familyBalances(old.record.id)).toEqual([0, 0]);
  });

  it('without grace the old key is revoked and the successor carries what is left', async () => {
    const old = await t.service.issue({ name: 'no grace', maxUses: 4 });
    expect(await ping(old.key)).toBe(200);
    const next = await t.service.rotateByKey(old.key);
    expect(await ping(old.key)).toBe(401);
    const statuses = await Promise.all(Array.from({ length: 10 }, () => ping(next.key)));
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    // Rotating again (a chain of three) still moves one balance.
    const third = await t.service.rotate(next.record.id, { gracePeriodMs: MINUTES_5 });
    expect(third.record.remainingUses).toBe(0);
    expect(await ping(third.key)).toBe(401);
  });

  it('spends racing a rotation never pass more than the grant, and the family can spend what is left', async () => {
    const grant = 30;
    const old = await t.service.issue({ name: 'race', maxUses: grant });
    const racing = Array.from({ length: 30 }, () => ping(old.key));
    const rotated = t.service.rotateByKey(old.key, { gracePeriodMs: MINUTES_5 });
    racing.push(...Array.from({ length: 30 }, () => ping(old.key)));
    const next = await rotated;
    const raced = (await Promise.all(racing)).filter((status) => status === 200).length;
    expect(raced).toBeLessThanOrEqual(grant);
    // Drain what is left through the new key: the total is exactly the grant.
    let drained = 0;
    while ((await ping(next.key)) === 200) drained++;
    expect(raced + drained).toBe(grant);
    expect(await familyBalances(old.record.id)).toEqual([0, 0]);
  });

  it('credits with refill: the successor keeps the balance and the refill grid; the old key gets the same 429', async () => {
    const old = await t.service.issue({
      name: 'refill family',
      credits: { remaining: 1, refill: { amount: 1, intervalMs: 60_000 } },
    });
    const next = await t.service.rotate(old.record.id, { gracePeriodMs: MINUTES_5 });
    expect(next.record).toMatchObject({
      remainingUses: 1,
      refillAmount: 1,
      refillIntervalMs: 60_000,
      refilledAtMs: old.record.refilledAtMs,
    });
    expect(await ping(old.key)).toBe(200); // spent from the successor
    expect((await t.service.get(next.record.id)).remainingUses).toBe(0);
    for (const key of [old.key, next.key]) {
      const res = await http().get('/ping').set('X-API-Key', key).expect(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(50);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
  });

  it("addCredits and setCredits on a rotated-away key's id change the family's balance, on its newest key", async () => {
    const old = await t.service.issue({ name: 'billing family', credits: { remaining: 0 } });
    const next = await t.service.rotate(old.record.id, { gracePeriodMs: MINUTES_5 });
    const holder = await t.service.addCredits(old.record.id, 2, { actor: 'billing' });
    expect(holder.id).toBe(next.record.id);
    expect(holder.remainingUses).toBe(2);
    expect((await t.service.get(old.record.id)).remainingUses).toBe(0);
    expect(await ping(old.key)).toBe(200);
    expect(await ping(next.key)).toBe(200);
    expect(await ping(old.key)).toBe(401);
    expect((await t.service.setCredits(old.record.id, 1)).id).toBe(next.record.id);
    const events = (await t.service.listEvents({ keyId: next.record.id })).items;
    expect(events[0]).toMatchObject({ type: 'credits_set', details: { remaining: 1, requestedFor: old.record.id } });
  });
});
