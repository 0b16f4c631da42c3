import { describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { Controller, Get, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyConfigurationError, ApiKeyGuard, Cost, Scopes, type ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import {
  ApiKeyAlerts,
  asApiKeyAlert,
  withAlerts,
  type ApiKeyAlert,
  type ApiKeyAlertOptions,
} from 'nestjs-opaque-keys/alerts';
import { ApiKeyEventPublisher, withEvents, type ApiKeyEventListener } from 'nestjs-opaque-keys/events';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Threshold alerts through real HTTP requests: balances below a threshold (uses, credits, a share of the refill),
 * each crossing announced once and again only after a refill or a top-up; rate-limit refusals and a spike of
 * refused requests counted per key; the payload's figures; a verified request unchanged with the feature idle.
 */

const DAY = 86_400_000;
// Apps boot on a fresh schema per test: slow on a loaded server database.
jest.setTimeout(120_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

@Controller('alerting')
@UseGuards(ApiKeyGuard)
class AlertingController {
  @Get()
  one() {
    return { ok: true };
  }

  @Get('big')
  @Cost(30)
  big() {
    return { ok: true };
  }

  @Get('admin')
  @Scopes('admin')
  admin() {
    return { ok: true };
  }
}

/** A listener keeping the alerts it hears (and every event, to check none carries a key). */
function alertRecorder(): ApiKeyEventListener & { alerts: ApiKeyAlert[]; all: ApiKeyLifecycleEvent[] } {
  const alerts: ApiKeyAlert[] = [];
  const all: ApiKeyLifecycleEvent[] = [];
  return {
    alerts,
    all,
    onApiKeyEvent(event) {
      all.push(event);
      const alert = asApiKeyAlert(event);
      if (alert) alerts.push(alert);
    },
  };
}

async function alertApp(options: ApiKeyAlertOptions, heard: ApiKeyEventListener): Promise<TestApp> {
  return createTestApp({
    controllers: [AlertingController],
    extras: { features: [withAlerts(options), withEvents({ listeners: [heard] })] },
  });
}

/** One check, its announcements delivered; what it announced as [type, keyId, threshold, figure]. */
async function check(t: TestApp, now?: number): Promise<unknown[][]> {
  const announced = await t.app.get(ApiKeyAlerts).check(now);
  await t.app.get(ApiKeyEventPublisher).idle();
  return announced.map((a) => [a.type, a.keyId, a.details.threshold, a.details.figure]);
}

describe('threshold alerts', () => {
  it('announces a balance below uses.below once, and again after a top-up only', async () => {
    const heard = alertRecorder();
    const t = await alertApp({ uses: { below: 3 } }, heard);
    try {
      const http = () => request(t.app.getHttpServer());
      const { key, record } = await t.service.issue({ name: 'metered', ownerId: 'acme', maxUses: 5 });
      await t.service.issue({ name: 'plenty', maxUses: 50 });
      await t.service.issue({ name: 'unlimited' });
      for (let i = 0; i < 2; i++) expect((await http().get('/alerting').set('X-API-Key', key)).status).toBe(200);
      expect(await check(t)).toEqual([]); // 3 left: not below 3
      expect((await http().get('/alerting').set('X-API-Key', key)).status).toBe(200);
      expect(await check(t)).toEqual([['uses_low', record.id, 3, 2]]);
      expect(heard.alerts[0]).toMatchObject({ keyId: record.id, ownerId: 'acme', actor: null });
      expect(await check(t)).toEqual([]); // the same crossing: once
      expect((await http().get('/alerting').set('X-API-Key', key)).status).toBe(200);
      expect(await check(t)).toEqual([]); // further down, still the same crossing
      await t.service.addCredits(record.id, 10); // 11: back above
      expect(await check(t)).toEqual([]);
      await t.service.setCredits(record.id, 1);
      expect(await check(t)).toEqual([['uses_low', record.id, 3, 1]]);
      // The claim is an audit row with the figures; no event carries the key or its hash.
      const rows = (await t.service.listEvents({ keyId: record.id })).items.filter(
        (e) => (e.type as string) === 'uses_low',
      );
      expect(rows.map((row) => row.details).reverse()).toEqual([
        { threshold: 3, figure: 2 },
        { threshold: 3, figure: 1 },
      ]);
      const hash = createHash('sha256').update(key).digest('hex');
      for (const text of [JSON.stringify(heard.all), JSON.stringify(rows)]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain(hash);
      }
    } finally {
      await t.close();
    }
  });

  it('gives no balance alert to revoked, disabled, expired or rotated-away keys; a family is one subject', async () => {
    const heard = alertRecorder();
    const t = await alertApp({ uses: { below: 2 } }, heard);
    try {
      const now = Date.now();
      const HOUR = 3_600_000;
      const live = await t.service.issue({ name: 'live', maxUses: 1 });
      const soon = await t.service.issue({ name: 'soon', maxUses: 1, expiresAt: new Date(now + HOUR) });
      const revoked = await t.service.issue({ name: 'revoked', maxUses: 1 });
      await t.service.revoke(revoked.record.id);
      const disabled = await t.service.issue({ name: 'disabled', maxUses: 1 });
      await t.service.disable(disabled.record.id);
      const rotated = await t.service.issue({ name: 'rotated', maxUses: 1 });
      const successor = (await t.service.rotate(rotated.record.id, { gracePeriodMs: HOUR })).record;
      // Two hours on, `soon` has expired; the balance of the rotated family is on its successor.
      expect((await check(t, now + 2 * HOUR)).sort()).toEqual(
        [
          ['uses_low', live.record.id, 2, 1],
          ['uses_low', successor.id, 2, 1],
        ].sort(),
      );
      expect(await check(t, now)).toEqual([['uses_low', soon.record.id, 2, 1]]);
      // A top-up and a fall below again: a new crossing; then a rotation moves that balance: still the same one.
      await t.service.setCredits(successor.id, 1);
      expect(await check(t, now)).toEqual([['uses_low', successor.id, 2, 1]]);
      const third = (await t.service.rotate(successor.id)).record;
      expect(await check(t, now)).toEqual([]);
      expect((await t.service.get(third.id)).remainingUses).toBe(1);
    } finally {
      await t.close();
    }
  });

  it('announces credits below a share of the refill once per refill, and an absolute floor on its own', async () => {
    const heard = alertRecorder();
    const t = await alertApp({ credits: { below: 5, belowShare: 0.5 } }, heard);
    try {
      const http = () => request(t.app.getHttpServer());
      const refill = { amount: 100, intervalMs: 5000 };
      const { key, record } = await t.service.issue({
        name: 'plan',
        ownerId: 'o',
        credits: { remaining: 100, refill },
      });
      const spend = async (n: number) => {
        for (let i = 0; i < n; i++) expect((await http().get('/alerting/big').set('X-API-Key', key)).status).toBe(200);
      };
      await spend(2); // 40 left
      expect(await check(t)).toEqual([['credits_low', record.id, 50, 40]]);
      expect(heard.alerts[0].details).toEqual({ threshold: 50, figure: 40, share: 0.5, refillAmount: 100 });
      expect(await check(t)).toEqual([]);
      await sleep(5100); // the refill is due: 100 available, nothing to say
      expect(await check(t)).toEqual([]);
      await spend(2); // the first spend applies the refill (100 - 30), then 40 left: a new crossing
      expect(await check(t)).toEqual([['credits_low', record.id, 50, 40]]);
      await t.service.setCredits(record.id, 4); // a top-up to 4: below both thresholds
      expect((await check(t)).sort()).toEqual([
        ['credits_low', record.id, 5, 4],
        ['credits_low', record.id, 50, 4],
      ]);
      // A key without a refill is not a `credits` key: uses.below is not configured here.
      await t.service.issue({ name: 'once', credits: { remaining: 1 } });
      expect(await check(t)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('counts rate-limit refusals and refused requests per key, and announces each window once', async () => {
    const heard = alertRecorder();
    const t = await alertApp(
      { rateLimited: { moreThan: 3, windowMs: DAY }, refusals: { moreThan: 2, windowMs: DAY } },
      heard,
    );
    try {
      const http = () => request(t.app.getHttpServer());
      const limited = await t.service.issue({
        name: 'busy',
        ownerId: 'acme',
        rateLimit: { limit: 2, windowMs: 60_000 },
      });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await http().get('/alerting').set('X-API-Key', limited.key)).status);
      expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
      const leaked = await t.service.issue({ name: 'leaked', ownerId: 'beta' });
      expect((await http().get('/alerting/admin').set('X-API-Key', leaked.key)).status).toBe(403);
      await t.service.revoke(leaked.record.id);
      for (let i = 0; i < 2; i++) expect((await http().get('/alerting').set('X-API-Key', leaked.key)).status).toBe(401);
      // Unknown keys count for nobody.
      for (let i = 0; i < 5; i++) await http().get('/alerting').set('X-API-Key', 'sk_live_unknown');
      const found = await check(t);
      expect(found).toEqual([
        ['rate_limited_often', limited.record.id, 3, 4],
        ['refusal_spike', leaked.record.id, 2, 3],
      ]);
      expect(heard.alerts.map((a) => a.ownerId)).toEqual(['acme', 'beta']);
      expect(heard.alerts[0].details).toMatchObject({ windowMs: DAY });
      expect(Date.parse(heard.alerts[0].details.windowStart!) % DAY).toBe(0);
      // More refusals in the same window: nothing new.
      await http().get('/alerting').set('X-API-Key', limited.key);
      expect(await check(t)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('leaves a verified request as it was: same statements, no write, with the feature loaded and idle', async () => {
    const heard = alertRecorder();
    const options = { uses: { below: 3 }, rateLimited: { moreThan: 3 }, refusals: { moreThan: 3 } };
    const plain = await createTestApp({ controllers: [AlertingController] });
    const t = await alertApp(options, heard);
    try {
      const statements = async (app: TestApp) => {
        const { key } = await app.service.issue({ name: 'k' });
        await request(app.app.getHttpServer()).get('/alerting').set('X-API-Key', key); // warm
        return app.queries.during(async () => {
          for (let i = 0; i < 5; i++)
            expect((await request(app.app.getHttpServer()).get('/alerting').set('X-API-Key', key)).status).toBe(200);
        });
      };
      const without = await statements(plain);
      const withAlertsLoaded = await statements(t);
      expect(withAlertsLoaded.length).toBe(without.length);
      expect(withAlertsLoaded.filter((sql) => !/^\s*SELECT/i.test(sql))).toEqual([]);
      expect(await check(t)).toEqual([]);
    } finally {
      await t.close();
      await plain.close();
    }
  });

  it('refuses options without a threshold, or with a bad one, naming the option', () => {
    expect(() => withAlerts({}).providers!({ tableName: 'api_keys', dataSource: undefined, name: undefined })).toThrow(
      ApiKeyConfigurationError,
    );
    const bad = (options: ApiKeyAlertOptions) => {
      try {
        withAlerts(options).providers!({ tableName: 'api_keys', dataSource: undefined, name: undefined });
      } catch (error) {
        return (error as ApiKeyConfigurationError).option;
      }
    };
    expect(bad({ credits: { belowShare: 1.5 } })).toBe('alerts.credits.belowShare');
    expect(bad({ uses: { below: 0 } })).toBe('alerts.uses.below');
    expect(bad({ rateLimited: { moreThan: 5, windowMs: 500 } })).toBe('alerts.rateLimited.windowMs');
    expect(bad({ refusals: { moreThan: 5, windowMs: 10_000 }, checkIntervalMs: 60_000 })).toBe(
      'alerts.refusals.windowMs',
    );
  });
});
