import { describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyGuard, Cost, Scopes, type ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import {
  ApiKeyAlerts,
  OWNER_ALERT_KEY_ID,
  asApiKeyAlert,
  withAlerts,
  type ApiKeyAlert,
  type ApiKeyAlertOptions,
} from 'nestjs-opaque-keys/alerts';
import { ApiKeyEventPublisher, withEvents, type ApiKeyEventListener } from 'nestjs-opaque-keys/events';
import { withWebhooks } from 'nestjs-opaque-keys/webhooks';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp, type TestAppOptions } from '../support/test-app.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Owner thresholds through real HTTP requests: an owner's live balances summed (a rotated family once; revoked,
 * disabled, other owners' and ownerless keys left out), announced once and again only after a raise; refusals across
 * an owner's keys in one window; once across two instances; events and webhooks with no key, hash or key id.
 */

const HOUR = 3_600_000;
const DAY = 86_400_000;
// Apps boot on a fresh schema per test: slow on a loaded server database.
jest.setTimeout(120_000);

@Controller('owned')
@UseGuards(ApiKeyGuard)
class OwnedController {
  @Get()
  one() {
    return { ok: true };
  }

  @Get('ten')
  @Cost(10)
  ten() {
    return { ok: true };
  }

  @Get('admin')
  @Scopes('admin')
  admin() {
    return { ok: true };
  }
}

/** A listener keeping the alerts it hears, and every event (to check none carries a key). */
function recorder(): ApiKeyEventListener & { alerts: ApiKeyAlert[]; all: ApiKeyLifecycleEvent[] } {
  const heard = { alerts: [] as ApiKeyAlert[], all: [] as ApiKeyLifecycleEvent[] };
  return {
    ...heard,
    onApiKeyEvent(event) {
      heard.all.push(event);
      const alert = asApiKeyAlert(event);
      if (alert) heard.alerts.push(alert);
    },
  };
}

/** An app with `withAlerts(options)` and `withEvents()` telling `heard`. */
function ownerApp(options: ApiKeyAlertOptions, heard: ApiKeyEventListener, more?: TestAppOptions): Promise<TestApp> {
  return createTestApp({
    controllers: [OwnedController],
    extras: { features: [withAlerts(options), withEvents({ listeners: [heard] })] },
    ...more,
  });
}

/** One check, its announcements delivered; what it announced as [type, keyId, ownerId, threshold, figure]. */
async function check(t: TestApp, now?: number): Promise<unknown[][]> {
  const announced = await t.app.get(ApiKeyAlerts).check(now);
  await t.app.get(ApiKeyEventPublisher).idle();
  return announced.map((a) => [a.type, a.keyId, a.ownerId, a.details.threshold, a.details.figure]);
}

/** Fails if `text` holds any of these keys, their SHA-256 or the keys' ids. */
function expectNoKeyIn(text: string, issued: { key: string; record: { id: string } }[]): void {
  for (const { key, record } of issued) {
    expect(text).not.toContain(key);
    expect(text).not.toContain(createHash('sha256').update(key).digest('hex'));
    expect(text).not.toContain(record.id);
  }
}

describe('owner threshold alerts', () => {
  it("sums an owner's live balances once each, announces the crossing once, and again only after a raise", async () => {
    const heard = recorder();
    const t = await ownerApp({ owners: { credits: { below: 100 } } }, heard);
    try {
      const http = (key: string, path = '/owned/ten') => request(t.app.getHttpServer()).get(path).set('X-API-Key', key);
      const a = await t.service.issue({ name: 'a', ownerId: 'acme', maxUses: 60 });
      const credits = { remaining: 50, refill: { amount: 50, intervalMs: DAY } };
      const b = await t.service.issue({ name: 'b', ownerId: 'acme', credits });
      const b2 = await t.service.rotate(b.record.id, { gracePeriodMs: HOUR }); // the family's balance moves to b2
      const revoked = await t.service.issue({ name: 'revoked', ownerId: 'acme', credits: { remaining: 500 } });
      await t.service.revoke(revoked.record.id);
      const disabled = await t.service.issue({ name: 'disabled', ownerId: 'acme', maxUses: 500 });
      await t.service.disable(disabled.record.id);
      await t.service.issue({ name: 'unmetered', ownerId: 'acme' });
      await t.service.issue({ name: 'other', ownerId: 'globex', maxUses: 1000 });
      await t.service.issue({ name: 'ownerless', maxUses: 1 });
      expect(await check(t)).toEqual([]); // acme: 60 + 50 = 110

      expect((await http(b.key)).status).toBe(200); // in its grace period: spends from b2
      expect(await check(t)).toEqual([]); // 100: not below 100
      expect((await http(a.key)).status).toBe(200);
      expect(await check(t)).toEqual([['owner_credits_low', OWNER_ALERT_KEY_ID, 'acme', 100, 90]]);
      expect(heard.alerts[0].details).toEqual({ threshold: 100, figure: 90, keys: 2 });
      expect(await check(t)).toEqual([]); // the same crossing: once

      // Further down, and a key revoked: the same episode.
      expect((await http(b2.key)).status).toBe(200);
      await t.service.revoke(a.record.id);
      expect(await check(t)).toEqual([]); // 30 left, on b2
      // A top-up raises a balance: a new episode, heard at once as it leaves the owner below.
      await t.service.addCredits(b2.record.id, 5);
      expect(await check(t)).toEqual([['owner_credits_low', OWNER_ALERT_KEY_ID, 'acme', 100, 35]]);
      expect(await check(t)).toEqual([]);
      // A day on, b2's refill is due (35 -> 50): a raise too, announced once.
      const later = Date.now() + DAY + 1000;
      expect(await check(t, later)).toEqual([['owner_credits_low', OWNER_ALERT_KEY_ID, 'acme', 100, 50]]);
      expect(await check(t, later)).toEqual([]);
      expect(await check(t)).toEqual([]);

      // The claims are audit rows of the owner, with no key's id; nothing carries a key, its hash or its id.
      const rows = (await t.service.listEvents({ ownerId: 'acme' })).items.filter(
        (e) => (e.type as string) === 'owner_credits_low',
      );
      expect(rows.map((row) => [row.keyId, row.details]).reverse()).toEqual([
        [OWNER_ALERT_KEY_ID, { threshold: 100, figure: 90, keys: 2 }],
        [OWNER_ALERT_KEY_ID, { threshold: 100, figure: 35, keys: 1 }],
        [OWNER_ALERT_KEY_ID, { threshold: 100, figure: 50, keys: 1 }],
      ]);
      expect(heard.alerts.every((alert) => alert.ownerId === 'acme')).toBe(true);
      expectNoKeyIn(JSON.stringify([heard.alerts, rows]), [a, b, b2, revoked, disabled]);
    } finally {
      await t.close();
    }
  });

  it("counts refused requests across an owner's keys in one window, and announces the window once", async () => {
    const heard = recorder();
    const t = await ownerApp({ owners: { refusals: { moreThan: 3, windowMs: DAY } } }, heard);
    try {
      const http = (key: string, path = '/owned') => request(t.app.getHttpServer()).get(path).set('X-API-Key', key);
      const k1 = await t.service.issue({ name: 'k1', ownerId: 'acme' });
      const k2 = await t.service.issue({ name: 'k2', ownerId: 'acme' });
      const busy = await t.service.issue({ name: 'busy', ownerId: 'acme', rateLimit: { limit: 1, windowMs: 60_000 } });
      const other = await t.service.issue({ name: 'other', ownerId: 'globex' });
      const ownerless = await t.service.issue({ name: 'ownerless' });
      await t.service.revoke(k1.record.id);
      await t.service.revoke(ownerless.record.id);
      for (let i = 0; i < 2; i++) expect((await http(k1.key)).status).toBe(401);
      for (let i = 0; i < 2; i++) expect((await http(k2.key, '/owned/admin')).status).toBe(403);
      expect((await http(k2.key)).status).toBe(200); // verified: not a refusal
      expect([(await http(busy.key)).status, (await http(busy.key)).status]).toEqual([200, 429]); // not counted
      for (let i = 0; i < 3; i++) expect((await http(other.key, '/owned/admin')).status).toBe(403); // 3: not above
      for (let i = 0; i < 5; i++) expect((await http(ownerless.key)).status).toBe(401); // no owner to count for
      for (let i = 0; i < 5; i++) await http('sk_live_unknown');

      expect(await check(t)).toEqual([['owner_refusal_spike', OWNER_ALERT_KEY_ID, 'acme', 3, 4]]);
      expect(heard.alerts[0].details).toMatchObject({ threshold: 3, figure: 4, windowMs: DAY });
      expect(Date.parse(heard.alerts[0].details.windowStart!) % DAY).toBe(0);
      // More refusals in the same window: nothing new.
      expect((await http(k1.key)).status).toBe(401);
      expect(await check(t)).toEqual([]);
      expectNoKeyIn(JSON.stringify(heard.all.filter((e) => asApiKeyAlert(e))), [k1, k2, busy, other, ownerless]);
    } finally {
      await t.close();
    }
  });

  it('announces each owner crossing exactly once across two instances sharing the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikeys-owner-alerts-'));
    const sqliteFile = testDatabase() === 'sqlite' ? join(dir, 'keys.sqlite') : undefined;
    const options = { owners: { credits: { below: 10 }, refusals: { moreThan: 1, windowMs: DAY } } };
    const [heardA, heardB] = [recorder(), recorder()];
    const a = await ownerApp(options, heardA, { sqliteFile });
    const b = await ownerApp(options, heardB, { sqliteFile, joinDatabase: true });
    try {
      await a.service.issue({ name: 'x', ownerId: 'acme', maxUses: 5 });
      await a.service.issue({ name: 'y', ownerId: 'acme', maxUses: 3 });
      const gone = await a.service.issue({ name: 'gone', ownerId: 'acme' });
      await a.service.revoke(gone.record.id);
      // Refused twice on each instance: both counts cross, one instance announces.
      for (const app of [a, b])
        for (let i = 0; i < 2; i++)
          await request(app.app.getHttpServer()).get('/owned').set('X-API-Key', gone.key).expect(401);

      for (let round = 0; round < 2; round++) {
        await Promise.all([a, b].map((app) => app.app.get(ApiKeyAlerts).check()));
        await Promise.all([a, b].map((app) => app.app.get(ApiKeyEventPublisher).idle()));
      }
      const heard = [...heardA.alerts, ...heardB.alerts].map((alert) => [alert.type, alert.ownerId]).sort();
      expect(heard).toEqual([
        ['owner_credits_low', 'acme'],
        ['owner_refusal_spike', 'acme'],
      ]);
      const rows = (await b.service.listEvents({ ownerId: 'acme' })).items.filter((e) => asApiKeyAlert(e));
      expect(rows.map((row) => row.type).sort()).toEqual(['owner_credits_low', 'owner_refusal_spike']);
    } finally {
      await b.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers an owner alert as a signed webhook with no key, hash or key id', async () => {
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const receiver = await startWebhookReceiver(secret);
    const endpoints = [{ url: receiver.url, secret, events: ['owner_credits_low'] }];
    const webhooks = withWebhooks({ endpoints, pollIntervalMs: 50, retryDelayMs: 20 });
    const t = await createTestApp({
      controllers: [OwnedController],
      extras: { features: [webhooks, withAlerts({ owners: { credits: { below: 10 } } })] },
    });
    try {
      const issued = [
        await t.service.issue({ name: 'p', ownerId: 'acme', maxUses: 4 }),
        await t.service.issue({ name: 'q', ownerId: 'acme', credits: { remaining: 5 } }),
      ];
      expect((await t.app.get(ApiKeyAlerts).check()).length).toBe(1);
      const [delivery] = await receiver.waitFor(1);
      expect(delivery.valid).toBe(true);
      expect(JSON.parse(delivery.body)).toMatchObject({
        type: 'api-key.owner_credits_low',
        data: {
          type: 'owner_credits_low',
          keyId: OWNER_ALERT_KEY_ID,
          ownerId: 'acme',
          actor: null,
          details: { threshold: 10, figure: 9, keys: 2 },
        },
      });
      expectNoKeyIn(delivery.body, issued);
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});
