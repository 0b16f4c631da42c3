import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  ApiKeyConfigurationError,
  ApiKeyNotFoundError,
  ApiKeyStateError,
  ApiKeyValidationError,
  ApiKeyVerifier,
  Cost,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';
import { PingController, ReportsController } from '../support/credit-controllers.js';
import { ApiKeyChanges, KeyCredits } from '../../lib/lifecycle/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('credits: per-route cost, refill, 429 vs 401', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  const statusesOf = (requests: Promise<{ status: number }>[]) =>
    Promise.all(requests).then((responses) => responses.map((response) => response.status));
  beforeAll(async () => {
    t = await createTestApp({ controllers: [ReportsController, PingController] });
  });
  afterAll(() => t.close());

  it('gives exactly 33 passes to 200 concurrent requests of cost 3 on 100 credits', async () => {
    const { key, record } = await t.service.issue({ name: 'burst', credits: { remaining: 100 } });
    const statuses = await statusesOf(
      Array.from({ length: 200 }, () =>
        http()
          .post('/reports')
          .set('X-API-Key', key)
          .then((r) => r),
      ),
    );
    expect(statuses.filter((status) => status === 201)).toHaveLength(33);
    expect(statuses.filter((status) => status === 401)).toHaveLength(167);
    expect((await t.service.get(record.id)).remainingUses).toBe(1);
  });

  it('spends the handler cost over the controller cost, the controller cost by default, 1 without @Cost, 0 on a free route', async () => {
    const { key, record } = await t.service.issue({ name: 'costs', credits: { remaining: 20 } });
    expect((await http().get('/reports').set('X-API-Key', key).expect(200)).body.remaining).toBe(20);
    expect((await t.service.get(record.id)).remainingUses).toBe(18);
    await http().post('/reports').set('X-API-Key', key).expect(201);
    expect((await t.service.get(record.id)).remainingUses).toBe(15);
    await http().get('/ping').set('X-API-Key', key).expect(200);
    expect((await t.service.get(record.id)).remainingUses).toBe(14);
    const free = await t.queries.during(() => http().get('/reports/free').set('X-API-Key', key).expect(200));
    expect(free).toHaveLength(1); // the read; no write
    expect((await t.service.get(record.id)).remainingUses).toBe(14);
  });

  it('costs one conditional UPDATE on top of the read; a key without credits costs no write', async () => {
    const refilling = await t.service.issue({
      name: 'refilling',
      credits: { remaining: 5, refill: { amount: 5, intervalMs: 60_000 } },
    });
    const spent = await t.queries.during(() => http().post('/reports').set('X-API-Key', refilling.key).expect(201));
    expect(spent).toHaveLength(2);
    expect(spent[1]).toMatch(/^UPDATE .*remainingUses.*refilledAtMs.* WHERE .*remainingUses/s);
    const unlimited = await t.service.issue({ name: 'unlimited' });
    expect(
      await t.queries.during(() => http().post('/reports').set('X-API-Key', unlimited.key).expect(201)),
    ).toHaveLength(1);
  });

  it('out of credits with no refill: the same 401 as an exhausted key, with no write once the read shows it', async () => {
    const { key } = await t.service.issue({ name: 'no refill', credits: { remaining: 2 } });
    await http().get('/reports').set('X-API-Key', key).expect(200);
    const res = await http().get('/ping').set('X-API-Key', key).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
    const exhausted = await t.service.issue({ name: 'maxUses', maxUses: 1 });
    await http().get('/ping').set('X-API-Key', exhausted.key).expect(200);
    const same = await http().get('/ping').set('X-API-Key', exhausted.key).expect(401);
    expect({ headers: same.headers['www-authenticate'], body: same.body }).toEqual({
      headers: res.headers['www-authenticate'],
      body: res.body,
    });
    expect(await t.queries.during(() => http().get('/ping').set('X-API-Key', key).expect(401))).toHaveLength(1);
  });

  it('out of credits with a refill to come: 429 with Retry-After to the refill, then the refill restores the balance', async () => {
    const { key, record } = await t.service.issue({
      name: 'refill',
      credits: { remaining: 2, refill: { amount: 3, intervalMs: 2_000 } },
    });
    const issuedAt = record.refilledAtMs!;
    expect(issuedAt).toBe(record.createdAt.getTime());
    await http().get('/reports').set('X-API-Key', key).expect(200); // 2 -> 0
    const refused = await t.queries.during(async () => {
      const res = await http().get('/ping').set('X-API-Key', key).expect(429);
      const retryAfter = Number(res.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(2);
      expect(res.body).toEqual({ statusCode: 429, message: 'Out of credits', error: 'Too Many Requests' });
    });
    expect(refused).toHaveLength(1); // refused on the read: no write
    await sleep(issuedAt + 2_050 - Date.now());
    await http().post('/reports').set('X-API-Key', key).expect(201); // refilled to 3, spent 3
    const after = await t.service.get(record.id);
    expect(after.remainingUses).toBe(0);
    expect(after.refilledAtMs).toBe(issuedAt + 2_000); // the grid stays anchored at issue time
    await http().get('/ping').set('X-API-Key', key).expect(429);
  });

  it('a refill raises the balance to its amount and never lowers a larger one', async () => {
    const { key, record } = await t.service.issue({
      name: 'bought more',
      credits: { remaining: 1, refill: { amount: 2, intervalMs: 1_000 } },
    });
    await t.service.addCredits(record.id, 10);
    await sleep(record.refilledAtMs! + 1_050 - Date.now());
    await http().get('/ping').set('X-API-Key', key).expect(200);
    expect((await t.service.get(record.id)).remainingUses).toBe(10);
  });

  it('addCredits and setCredits change the balance the next request sees, with an audit event each', async () => {
    const { key, record } = await t.service.issue({ name: 'billing', credits: { remaining: 0 } });
    await http().get('/ping').set('X-API-Key', key).expect(401);
    expect((await t.service.addCredits(record.id, 4, { actor: 'billing' })).remainingUses).toBe(4);
    await http().get('/reports').set('X-API-Key', key).expect(200);
    expect((await t.service.get(record.id)).remainingUses).toBe(2);
    expect((await t.service.setCredits(record.id, 1, { actor: 'billing' })).remainingUses).toBe(1);
    await http().get('/reports').set('X-API-Key', key).expect(401); // costs 2
    await http().get('/ping').set('X-API-Key', key).expect(200);
    const events = (await t.service.listEvents({ keyId: record.id })).items;
    expect(events.slice(0, 2)).toEqual([
      expect.objectContaining({ type: 'credits_set', actor: 'billing', details: { remaining: 1 } }),
      expect.objectContaining({ type: 'credits_added', actor: 'billing', details: { amount: 4 } }),
    ]);
    // setCredits gives a key without credits a balance.
    const unlimited = await t.service.issue({ name: 'was unlimited' });
    expect((await t.service.setCredits(unlimited.record.id, 1)).remainingUses).toBe(1);
    await http().get('/ping').set('X-API-Key', unlimited.key).expect(200);
    await http().get('/ping').set('X-API-Key', unlimited.key).expect(401);
  });

  it('addCredits and setCredits refuse bad input with typed errors', async () => {
    const { record } = await t.service.issue({ name: 'typed', credits: { remaining: 1 } });
    const unlimited = await t.service.issue({ name: 'unlimited' });
    for (const bad of [0, -1, 1.5, '3', 2_000_000_001]) {
      await expect(t.service.addCredits(record.id, bad as never)).rejects.toBeInstanceOf(ApiKeyValidationError);
    }
    for (const bad of [-1, 1.5, null, 2_000_000_001]) {
      await expect(t.service.setCredits(record.id, bad as never)).rejects.toBeInstanceOf(ApiKeyValidationError);
    }
    await expect(t.service.addCredits(unlimited.record.id, 1)).rejects.toThrow(/has no credits to add to/);
    await t.service.setCredits(record.id, 2_000_000_000);
    await expect(t.service.addCredits(record.id, 1)).rejects.toThrow(/would exceed 2000000000/);
    await expect(t.service.addCredits('00000000-0000-4000-8000-000000000000', 1)).rejects.toBeInstanceOf(
      ApiKeyNotFoundError,
    );
    await t.service.revoke(record.id);
    await expect(t.service.addCredits(record.id, 1)).rejects.toBeInstanceOf(ApiKeyStateError);
    expect((await t.service.get(record.id)).remainingUses).toBe(2_000_000_000);
  });

  it('validates credits at issue time with typed errors naming the problem', async () => {
    const cases: [unknown, unknown, RegExp][] = [
      [{ remaining: -1 }, undefined, /credits.remaining must be an integer from 0/],
      [{ remaining: 1.5 }, undefined, /credits.remaining/],
      [{ remaining: 1, refill: { amount: 0, intervalMs: 1000 } }, undefined, /credits.refill.amount/],
      [{ remaining: 1, refill: { amount: 1, intervalMs: 999 } }, undefined, /credits.refill.intervalMs/],
      [{ remaining: 1, refill: { amount: 1, intervalMs: '1000' } }, undefined, /credits.refill.intervalMs/],
      [{ remaining: 1, refill: { amount: 1 } }, undefined, /credits.refill.intervalMs/],
      [{ remaining: 1, extra: true }, undefined, /unknown field\(s\): extra/],
      [{ remaining: 1, refill: { amount: 1, intervalMs: 1000, every: 'day' } }, undefined, /unknown field\(s\): every/],
      [[1], undefined, /credits must be an object/],
      [{ remaining: 1 }, 3, /not both/],
    ];
    for (const [credits, maxUses, message] of cases) {
      await expect(
        t.service.issue({ name: 'bad', credits: credits as never, maxUses: maxUses as never }),
      ).rejects.toThrow(message);
    }
    await expect(t.service.issue({ name: 'bad', credits: { remaining: -1 } })).rejects.toBeInstanceOf(
      ApiKeyValidationError,
    );
  });

  it("KeyCredits.configure sets a key's credit configuration inside a change", async () => {
    const changes = t.app.get(ApiKeyChanges);
    const credits = new KeyCredits(changes.context);
    const { key, record } = await t.service.issue({ name: 'configured later' });
    const refill = { remaining: 0, refill: { amount: 1, intervalMs: 60_000 } };
    const done = await changes.run((change) => credits.configure(change, record.id, refill), 1_000);
    expect(done).toEqual({ remainingUses: 0, refillAmount: 1, refillIntervalMs: 60_000, refilledAtMs: 1_000 });
    // The grid started at 1970 + 1 s: a refill is long due, so the first request passes and the second waits.
    await http().get('/ping').set('X-API-Key', key).expect(200);
    await http().get('/ping').set('X-API-Key', key).expect(429);
    await changes.run((change) => credits.configure(change, record.id, null));
    await http().get('/ping').set('X-API-Key', key).expect(200); // unlimited again
    await expect(
      changes.run((change) => credits.configure(change, record.id, { remaining: -1 })),
    ).rejects.toBeInstanceOf(ApiKeyValidationError);
  });

  it('@Cost() refuses a cost that is not a whole number of credits at decoration time', () => {
    for (const bad of [-1, 1.5, Number.NaN, 2_000_000_001]) expect(() => Cost(bad)).toThrow(ApiKeyConfigurationError);
    expect(() => Cost(0)).not.toThrow();
  });
});

describe('credits: the refill is computed in SQL from the row and the clock', () => {
  let t: TestApp;
  let verifier: ApiKeyVerifier;
  beforeAll(async () => {
    t = await createTestApp({});
    verifier = t.app.get(ApiKeyVerifier);
  });
  afterAll(() => t.close());

  async function principalOf(key: string, now: number): Promise<ApiKeyPrincipal> {
    const verdict = await verifier.verify(key, now);
    if (!verdict.valid) throw new Error(`expected a valid key, got ${verdict.reason}`);
    return verdict.principal;
  }

  it('refills once per whole interval elapsed, keeps the grid, and says when the next refill comes', async () => {
    const hour = 3_600_000;
    const { key, record } = await t.service.issue({
      name: 'clock',
      credits: { remaining: 2, refill: { amount: 5, intervalMs: hour } },
    });
    const t0 = record.refilledAtMs!;
    const spend = async (cost: number, at: number) => verifier.consumeUse(await principalOf(key, at), cost, at);

    expect((await spend(2, t0 + 1)).valid).toBe(true);
    expect(await spend(1, t0 + 10 * 60_000)).toMatchObject({
      valid: false,
      reason: 'exhausted',
      retryAfterMs: 50 * 60_000,
    });
    // 3.5 intervals later: one refill (to 5, not 3 x 5), the anchor moves by 3 whole intervals.
    expect((await spend(4, t0 + 3.5 * hour)).valid).toBe(true);
    let row = await t.service.get(record.id);
    expect(row.remainingUses).toBe(1);
    expect(row.refilledAtMs).toBe(t0 + 3 * hour);
    // A spend that does not fit, even with the refill, writes nothing: the refill is not consumed.
    expect(await spend(6, t0 + 4 * hour)).toMatchObject({ valid: false, retryAfterMs: hour });
    row = await t.service.get(record.id);
    expect([row.remainingUses, row.refilledAtMs]).toEqual([1, t0 + 3 * hour]);
    expect((await spend(5, t0 + 4 * hour)).valid).toBe(true);
    row = await t.service.get(record.id);
    expect([row.remainingUses, row.refilledAtMs]).toEqual([0, t0 + 4 * hour]);
  });

  it('never spends more than there is when concurrent spends meet a due refill', async () => {
    const { key, record } = await t.service.issue({
      name: 'refill race',
      credits: { remaining: 0, refill: { amount: 30, intervalMs: 60_000 } },
    });
    const at = record.refilledAtMs! + 60_000;
    const principal = await principalOf(key, at);
    const verdicts = await Promise.all(Array.from({ length: 50 }, () => verifier.consumeUse(principal, 1, at)));
    expect(verdicts.filter((verdict) => verdict.valid)).toHaveLength(30);
    expect((await t.service.get(record.id)).remainingUses).toBe(0);
  });
});

describe('credits with the lookup cache on', () => {
  let t: TestApp;
  const http = () => request(t.app.getHttpServer());
  beforeAll(async () => {
    t = await createTestApp({ controllers: [PingController], options: { cache: { ttlMs: 60_000 } } });
  });
  afterAll(() => t.close());

  it('a cached row never grants more than the balance, and addCredits is seen on the next request', async () => {
    const { key, record } = await t.service.issue({ name: 'cached', credits: { remaining: 2 } });
    const lookups = (statements: string[]) => statements.filter((sql) => /^SELECT/i.test(sql.trim()));
    await http().get('/ping').set('X-API-Key', key).expect(200); // cached now, with a balance of 2
    await http().get('/ping').set('X-API-Key', key).expect(200);
    const refused = await t.queries.during(() => http().get('/ping').set('X-API-Key', key).expect(401));
    expect(lookups(refused)).toEqual([]); // the cached row said 2; the conditional UPDATE said no
    await t.service.addCredits(record.id, 1);
    const after = await t.queries.during(() => http().get('/ping').set('X-API-Key', key).expect(200));
    expect(lookups(after)).toHaveLength(1); // the change dropped the cached row: read live again
    await http().get('/ping').set('X-API-Key', key).expect(401);
  });
});
