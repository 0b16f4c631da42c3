import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyGuard } from 'nestjs-opaque-keys';
import {
  ApiKeyAlerts,
  asApiKeyAlert,
  withAlerts,
  type ApiKeyAlert,
  type ApiKeyAlertOptions,
} from 'nestjs-opaque-keys/alerts';
import { ApiKeyEventPublisher, withEvents, type ApiKeyEventListener } from 'nestjs-opaque-keys/events';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Two app instances on one database (an SQLite file, or the PostgreSQL / MariaDB server): each crossing is
 * claimed by one audit row, so it is announced by exactly one of them, however their checks interleave.
 */

const DAY = 86_400_000;
// Apps boot on a fresh schema per test: slow on a loaded server database.
jest.setTimeout(120_000);

@Controller('shared')
@UseGuards(ApiKeyGuard)
class SharedController {
  @Get()
  one() {
    return { ok: true };
  }
}

function recorder(): ApiKeyEventListener & { alerts: ApiKeyAlert[] } {
  const alerts: ApiKeyAlert[] = [];
  return {
    alerts,
    onApiKeyEvent: (event) => {
      const alert = asApiKeyAlert(event);
      if (alert) alerts.push(alert);
    },
  };
}

async function checkBoth(a: TestApp, b: TestApp): Promise<void> {
  await Promise.all([a.app.get(ApiKeyAlerts).check(), b.app.get(ApiKeyAlerts).check()]);
  await Promise.all([a.app.get(ApiKeyEventPublisher).idle(), b.app.get(ApiKeyEventPublisher).idle()]);
}

describe('threshold alerts on two instances', () => {
  it('announces each crossing exactly once across two instances sharing the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apikeys-alerts-'));
    const sqliteFile = testDatabase() === 'sqlite' ? join(dir, 'keys.sqlite') : undefined;
    const options: ApiKeyAlertOptions = { uses: { below: 10 }, rateLimited: { moreThan: 1, windowMs: DAY } };
    const heardA = recorder();
    const heardB = recorder();
    const features = (heard: ApiKeyEventListener) => [withAlerts(options), withEvents({ listeners: [heard] })];
    const a = await createTestApp({
      sqliteFile,
      controllers: [SharedController],
      extras: { features: features(heardA) },
    });
    const b = await createTestApp({
      sqliteFile,
      joinDatabase: true,
      controllers: [SharedController],
      extras: { features: features(heardB) },
    });
    try {
      const low: string[] = [];
      for (let i = 0; i < 8; i++) low.push((await a.service.issue({ name: `low${i}`, maxUses: i + 1 })).record.id);
      await a.service.issue({ name: 'high', maxUses: 100 });
      // A key refused by its rate limit on both instances: both counts cross, one announces.
      const busy = await a.service.issue({ name: 'busy', rateLimit: { limit: 1, windowMs: 60_000 } });
      for (const app of [a, b])
        for (let i = 0; i < 4; i++) await request(app.app.getHttpServer()).get('/shared').set('X-API-Key', busy.key);

      await checkBoth(a, b);
      await checkBoth(b, a);
      const heard = [...heardA.alerts, ...heardB.alerts];
      expect(
        heard
          .filter((e) => e.type === 'uses_low')
          .map((e) => e.keyId)
          .sort(),
      ).toEqual([...low].sort());
      expect(heard.filter((e) => e.type === 'rate_limited_often').map((e) => e.keyId)).toEqual([busy.record.id]);
      expect(heard).toHaveLength(low.length + 1);
      for (const id of [...low, busy.record.id]) {
        const rows = (await b.service.listEvents({ keyId: id })).items.filter((e) => asApiKeyAlert(e));
        expect(rows).toHaveLength(1);
      }
    } finally {
      await b.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
