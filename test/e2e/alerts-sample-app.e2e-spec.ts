import { describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ApiKeyService } from 'nestjs-opaque-keys';
import { ApiKeyAlerts } from 'nestjs-opaque-keys/alerts';
import { ApiKeyEventPublisher } from 'nestjs-opaque-keys/events';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { LogCapture } from '../support/log-capture.js';

/**
 * The sample app's threshold alerts (sample-app/config/api-keys.options.ts), as a user runs it: its own
 * AppModule on an SQLite file, real HTTP requests; its key event logger writes each alert with its figure.
 */
describe('sample app: threshold alerts', () => {
  it('logs a metered key under 10 uses and a revoked key tried more than 20 times, once each', async () => {
    const previous = process.env.DATABASE_PATH;
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-alerts-sample-'));
    process.env.DATABASE_PATH = join(dir, 'sample.sqlite');
    const logs = new LogCapture();
    let app: INestApplication | undefined;
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true); // the printed admin key
    try {
      app = await createSampleApp({ logger: logs });
      write.mockRestore();
      const keys = app.get(ApiKeyService);
      const http = () => request(app!.getHttpServer());
      const metered = await keys.issue({ name: 'metered', ownerId: 'acme', scopes: ['orders:read'], maxUses: 12 });
      const leaked = await keys.issue({ name: 'leaked', ownerId: 'globex', scopes: ['orders:read'] });
      for (let i = 0; i < 3; i++) await http().get('/orders').set('X-API-Key', metered.key).expect(200);
      await keys.revoke(leaked.record.id, 'posted in a public repository');
      for (let i = 0; i < 21; i++) await http().get('/orders').set('X-API-Key', leaked.key).expect(401);

      const check = async () => {
        const announced = await app!.get(ApiKeyAlerts).check();
        await app!.get(ApiKeyEventPublisher).idle();
        return announced.length;
      };
      expect(await check()).toBe(2);
      expect(await check()).toBe(0);
      const alerts = logs.lines.filter((line) => /uses_low|refusal_spike/.test(line));
      expect(alerts).toEqual([
        expect.stringContaining(`uses_low ${metered.record.id} of acme: 9 (threshold 10)`),
        expect.stringContaining(`refusal_spike ${leaked.record.id} of globex: 21 (threshold 20)`),
      ]);
    } finally {
      write.mockRestore();
      await app?.close();
      if (previous === undefined) delete process.env.DATABASE_PATH;
      else process.env.DATABASE_PATH = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
