import { describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Controller, Get, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { ApiKeyGuard } from 'nestjs-opaque-keys';
import { ApiKeyAlerts, withAlerts } from 'nestjs-opaque-keys/alerts';
import { withWebhooks } from 'nestjs-opaque-keys/webhooks';
import { eventually } from '../support/webhook-receiver.js';
import { createTestApp } from '../support/test-app.js';

/**
 * docs/alerts.md's receiver, run as written: the block after `<!-- alert-receiver.ts -->` is written to a file and
 * imported; alerts reach it as signed webhooks from the outbox, and it turns them into lines for the owner.
 */

const DAY = 86_400_000;
jest.setTimeout(120_000);

@Controller('hooked')
@UseGuards(ApiKeyGuard)
class HookedController {
  @Get()
  one() {
    return { ok: true };
  }
}

type Receiver = (secret: string, notify: (ownerId: string | null, text: string) => void) => Server;

/** The receiver block of docs/alerts.md, as a module. */
async function docsReceiver(dir: string): Promise<Receiver> {
  const page = readFileSync(join(process.cwd(), 'docs', 'alerts.md'), 'utf8');
  const block = /<!-- alert-receiver\.ts -->\n```ts\n([\s\S]*?)\n```/.exec(page);
  if (!block) throw new Error('docs/alerts.md has no alert-receiver.ts block');
  const file = join(dir, 'alert-receiver.ts');
  writeFileSync(file, block[1]);
  return ((await import(pathToFileURL(file).href)) as { alertReceiver: Receiver }).alertReceiver;
}

describe('alerts: the receiver of docs/alerts.md', () => {
  it('gets each alert once, signed, and tells the owner the figure', async () => {
    // Inside the repository, so that the block's imports resolve as in an app.
    const dir = mkdtempSync(join(process.cwd(), 'test', '.alerts-doc-'));
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const lines: [string | null, string][] = [];
    const receiver = (await docsReceiver(dir))(secret, (owner, text) => lines.push([owner, text]));
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    const t = await createTestApp({
      controllers: [HookedController],
      extras: {
        features: [
          withWebhooks({ endpoints: [{ url, secret }], pollIntervalMs: 50, retryDelayMs: 20 }),
          withAlerts({
            uses: { below: 3 },
            refusals: { moreThan: 2, windowMs: DAY },
            owners: { credits: { below: 3 }, refusals: { moreThan: 2, windowMs: DAY } },
          }),
        ],
      },
    });
    try {
      const http = () => request(t.app.getHttpServer());
      const metered = await t.service.issue({ name: 'metered', ownerId: 'acme', maxUses: 4 });
      const leaked = await t.service.issue({ name: 'leaked', ownerId: 'globex' });
      for (let i = 0; i < 2; i++) await http().get('/hooked').set('X-API-Key', metered.key).expect(200);
      await t.service.revoke(leaked.record.id);
      for (let i = 0; i < 3; i++) await http().get('/hooked').set('X-API-Key', leaked.key).expect(401);

      expect((await t.app.get(ApiKeyAlerts).check()).length).toBe(4);
      await eventually(async () => lines.length === 4);
      expect(lines.sort()).toEqual([
        ['acme', `key ${metered.record.id} has 2 left (alert below 3)`],
        ['acme', 'your keys have 2 left in all (alert below 3)'],
        ['globex', `key ${leaked.record.id} was refused 3 times in 86400 s: leaked?`],
        ['globex', 'your keys were refused 3 times in 86400 s'],
      ]);
      // A forged delivery is refused; the lifecycle events delivered beside the alerts told the owner nothing.
      const forged = await fetch(url, { method: 'POST', body: '{"type":"api-key.uses_low"}' });
      expect(forged.status).toBe(400);
      expect(await t.app.get(ApiKeyAlerts).check()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(lines).toHaveLength(4);
    } finally {
      await t.close();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets an endpoint subscribe to alert types by name, which only a setup with alerts accepts', async () => {
    const types: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        types.push((JSON.parse(body) as { type: string }).type);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
    const secret = 'whsec_' + randomBytes(32).toString('base64');
    const endpoints = [{ url, secret, events: ['uses_low'] }];
    // Without the alerts feature, the name is a typo to the webhooks feature: refused where the module is defined.
    const setup = { tableName: 'api_keys', dataSource: undefined, name: undefined };
    expect(() => withWebhooks({ endpoints }).providers!(setup)).toThrow(/unknown type\(s\) "uses_low"/);
    const t = await createTestApp({
      controllers: [HookedController],
      extras: {
        features: [
          withWebhooks({ endpoints, pollIntervalMs: 50, retryDelayMs: 20 }),
          withAlerts({ uses: { below: 3 } }),
        ],
      },
    });
    try {
      const metered = await t.service.issue({ name: 'metered', ownerId: 'acme', maxUses: 4 });
      const http = () => request(t.app.getHttpServer());
      for (let i = 0; i < 2; i++) await http().get('/hooked').set('X-API-Key', metered.key).expect(200);
      expect((await t.app.get(ApiKeyAlerts).check()).length).toBe(1);
      await eventually(async () => types.length === 1);
      await new Promise((resolve) => setTimeout(resolve, 300)); // time for a lifecycle event to arrive, were it sent
      expect(types).toEqual(['api-key.uses_low']); // the key's `issued` event is not for this endpoint
    } finally {
      await t.close();
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
