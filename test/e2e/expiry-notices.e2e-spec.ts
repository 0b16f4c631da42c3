import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { ApiKeyValidationError, type ApiKeyLifecycleEvent } from 'nestjs-opaque-keys';
import { ApiKeyEventPublisher, withEvents, type ApiKeyEventListener } from 'nestjs-opaque-keys/events';
import { ApiKeyExpiryNotifier, withExpiryNotices } from 'nestjs-opaque-keys/expiry-notices';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Expiry notices: listExpiring; `expiring` once per key per threshold (the
 * tightest reached) and `expired` once, each claimed by one audit row, so two
 * instances on one database announce each notice exactly once.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function recorder(): ApiKeyEventListener & { events: ApiKeyLifecycleEvent[] } {
  const events: ApiKeyLifecycleEvent[] = [];
  return { events, onApiKeyEvent: (event) => void (event.type.startsWith('expir') && events.push(event)) };
}

async function checkAt(t: TestApp, now: number): Promise<number> {
  const announced = await t.app.get(ApiKeyExpiryNotifier).check(now);
  await t.app.get(ApiKeyEventPublisher).idle();
  return announced;
}

describe('expiry notices', () => {
  it('listExpiring lists live keys expiring within the window, soonest first, by owner', async () => {
    const t = await createTestApp();
    try {
      const at = (ms: number) => new Date(Date.now() + ms);
      const soon = await t.service.issue({ name: 'soon', ownerId: 'acme', expiresAt: at(HOUR) });
      const later = await t.service.issue({ name: 'later', ownerId: 'other', expiresAt: at(3 * DAY) });
      await t.service.issue({ name: 'far', ownerId: 'acme', expiresAt: at(30 * DAY) });
      await t.service.issue({ name: 'never', ownerId: 'acme' });
      const revoked = await t.service.issue({ name: 'revoked', ownerId: 'acme', expiresAt: at(HOUR) });
      await t.service.revoke(revoked.record.id);
      const ids = (records: { id: string }[]) => records.map((r) => r.id);
      expect(ids(await t.service.listExpiring({ within: 7 * DAY }))).toEqual([soon.record.id, later.record.id]);
      expect(ids(await t.service.listExpiring({ within: 7 * DAY, ownerId: 'acme' }))).toEqual([soon.record.id]);
      expect(ids(await t.service.listExpiring({ within: 30 * 60_000 }))).toEqual([]);
      await expect(t.service.listExpiring({ within: -1 })).rejects.toBeInstanceOf(ApiKeyValidationError);
    } finally {
      await t.close();
    }
  });

  it('announces the tightest threshold reached once, then the next, then expired, each once', async () => {
    const heard = recorder();
    const t = await createTestApp({ extras: { features: [withExpiryNotices(), withEvents({ listeners: [heard] })] } });
    try {
      const now = Date.now();
      const a = await t.service.issue({ name: 'a', ownerId: 'o', expiresAt: new Date(now + 3 * DAY) });
      const b = await t.service.issue({ name: 'b', expiresAt: new Date(now + 12 * HOUR) });
      await t.service.issue({ name: 'far', expiresAt: new Date(now + 10 * DAY) });
      const rotated = await t.service.issue({ name: 'rotated', expiresAt: new Date(now + 2 * DAY) });
      // The old key gets no notice; its successor (same lifetime, 2 days) gets its own.
      const successor = (await t.service.rotate(rotated.record.id, { gracePeriodMs: HOUR })).record;
      const seen = () => heard.events.map((e) => [e.type, e.keyId, e.details?.thresholdMs]);

      expect(await checkAt(t, now)).toBe(3);
      expect(seen()).toEqual([
        ['expiring', b.record.id, DAY],
        ['expiring', successor.id, 7 * DAY],
        ['expiring', a.record.id, 7 * DAY],
      ]);
      expect(heard.events[2]).toMatchObject({
        ownerId: 'o',
        details: { expiresAt: new Date(now + 3 * DAY).toISOString() },
      });
      expect(await checkAt(t, now + HOUR)).toBe(0); // nothing twice

      heard.events.length = 0;
      expect(await checkAt(t, now + 2.5 * DAY)).toBe(3);
      expect(seen()).toEqual([
        ['expired', b.record.id, undefined],
        ['expired', successor.id, undefined],
        ['expiring', a.record.id, DAY],
      ]);
      expect(await checkAt(t, now + 2.6 * DAY)).toBe(0);
      const types = (await t.service.listEvents({ keyId: b.record.id })).items.map((e) => e.type);
      expect(types.sort()).toEqual(['expired', 'expiring', 'issued']);
    } finally {
      await t.close();
    }
  });

  it('two instances on one database announce each notice exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikeys-expiry-'));
    const sqliteFile = testDatabase() === 'sqlite' ? join(dir, 'keys.sqlite') : undefined;
    const heardA = recorder();
    const heardB = recorder();
    const a = await createTestApp({
      sqliteFile,
      extras: { features: [withExpiryNotices(), withEvents({ listeners: [heardA] })] },
    });
    const b = await createTestApp({
      sqliteFile,
      joinDatabase: true,
      extras: { features: [withExpiryNotices(), withEvents({ listeners: [heardB] })] },
    });
    try {
      const now = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++)
        ids.push((await a.service.issue({ name: `k${i}`, expiresAt: new Date(now + (i + 1) * HOUR) })).record.id);
      // Concurrent checks on both, then again on both: each notice is announced by exactly one of them.
      await Promise.all([checkAt(a, now), checkAt(b, now)]);
      await Promise.all([checkAt(b, now + 1), checkAt(a, now + 2)]);
      const announced = [...heardA.events, ...heardB.events].map((e) => e.keyId).sort();
      expect(announced).toEqual([...ids].sort());
      for (const id of ids) {
        const rows = (await b.service.listEvents({ keyId: id })).items.filter((e) => e.type === 'expiring');
        expect(rows).toHaveLength(1);
      }
    } finally {
      await b.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('registers its interval with @nestjs/schedule when the host has it, and stays off unless asked', async () => {
    const off = await createTestApp({ imports: [ScheduleModule.forRoot()] });
    try {
      expect(off.app.get(SchedulerRegistry).getIntervals()).toEqual([]);
    } finally {
      await off.close();
    }
    const heard = recorder();
    const t = await createTestApp({
      imports: [ScheduleModule.forRoot()],
      extras: { features: [withExpiryNotices({ checkIntervalMs: 1000 }), withEvents({ listeners: [heard] })] },
    });
    try {
      expect(t.app.get(SchedulerRegistry).getIntervals()).toEqual(['nestjs-opaque-keys:expiry-notices']);
      const { record } = await t.service.issue({ name: 'a', expiresAt: new Date(Date.now() + HOUR) });
      for (let i = 0; i < 40 && heard.events.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(heard.events.map((e) => [e.type, e.keyId])).toEqual([['expiring', record.id]]);
    } finally {
      await t.close();
    }
    // @nestjs/schedule clears its registry before the app's shutdown hooks run: closing must not fail on that.
    expect(t.logs.lines.filter((line) => line.startsWith('error'))).toEqual([]);
  });
});
