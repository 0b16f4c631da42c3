import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ApiKeyValidationError, hashApiKey } from 'nestjs-opaque-keys';
import {
  ApiKeyWebhookDispatcher,
  ApiKeyWebhookLog,
  sendWebhook,
  withWebhooks,
  type ApiKeyWebhookOptions,
} from 'nestjs-opaque-keys/webhooks';
import { ApiKeyChanges } from '../../lib/lifecycle/index.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { deadUrl, eventually, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * Webhooks, end to end: a real app on a real database POSTs to a real HTTP
 * receiver that verifies each signature with standardwebhooks. Delivery rows
 * are written in the change's transaction (nothing for a rollback), retried
 * with backoff (one webhook-id across attempts), failed after maxAttempts,
 * filtered per endpoint, sent once across two instances, and never hold a key.
 */

const secret = () => 'whsec_' + randomBytes(32).toString('base64');
const fast = { retryDelayMs: 20, maxRetryDelayMs: 50, pollIntervalMs: 50, timeoutMs: 2000 } as const;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function receiver(key: string, respond?: Parameters<typeof startWebhookReceiver>[1]): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(key, respond);
  cleanups.push(() => started.close());
  return started;
}

async function app(webhooks: ApiKeyWebhookOptions, more: Partial<Parameters<typeof createTestApp>[0]> = {}) {
  const t = await createTestApp({ extras: { features: [withWebhooks(webhooks)] }, ...more });
  cleanups.push(() => t.close());
  return t;
}

const log = (t: TestApp) => t.app.get(ApiKeyWebhookLog);

describe(`webhooks (${testDatabase()})`, () => {
  it('delivers each change after commit, signed per Standard Webhooks, with no key or hash in it', async () => {
    const key = secret();
    const hooks = await receiver(key);
    const t = await app({ endpoints: [{ url: hooks.url, secret: key }], ...fast });
    const issued = await t.service.issue({ name: 'a', ownerId: 'acme', scopes: ['x'], actor: 'alice' });
    await t.service.revoke(issued.record.id, 'done', { actor: 'bob' });
    // Deliveries of two changes may arrive in either order (docs/webhooks.md): take them by type.
    const both = await hooks.waitFor(2);
    const typeOf = (r: (typeof both)[number]) => (r.verified as { type?: string } | undefined)?.type;
    const first = both.find((r) => typeOf(r) === 'api-key.issued') ?? both[0];
    const second = both.find((r) => typeOf(r) === 'api-key.revoked') ?? both[1];
    expect(hooks.received.every((r) => r.valid)).toBe(true);
    expect(first.verified).toMatchObject({
      type: 'api-key.issued',
      data: { type: 'issued', keyId: issued.record.id, ownerId: 'acme', actor: 'alice' },
    });
    expect(second.verified).toMatchObject({
      type: 'api-key.revoked',
      data: { actor: 'bob', details: { reason: 'done' } },
    });
    expect(first.headers['content-type']).toBe('application/json');
    expect(Math.abs(Number(first.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    // The signature is checked for real: another secret refuses it.
    expect(() => new Webhook(secret()).verify(first.body, first.headers)).toThrow();
    for (const r of hooks.received) {
      expect(r.body).not.toContain(issued.key);
      expect(r.body).not.toContain(hashApiKey(issued.key));
    }
    const rows = await eventually(async () => {
      const { items } = await log(t).list({ keyId: issued.record.id, status: 'delivered' });
      return items.length === 2 && items;
    });
    expect(rows.map((row) => row.id).sort()).toEqual([first.id, second.id].sort());
    expect(rows[0]).toMatchObject({ attempts: 1, lastStatusCode: 200, lastError: null, endpointUrl: hooks.url });
    expect(rows[0].deliveredAt).toBeInstanceOf(Date);
    expect(JSON.stringify(rows)).not.toContain(issued.key);
  });

  it('costs a change one INSERT in its transaction, and the request path nothing', async () => {
    const key = secret();
    const hooks = await receiver(key);
    const t = await app({ endpoints: [{ url: hooks.url, secret: key }], ...fast, pollIntervalMs: 60_000 });
    const table = /webhook_deliveries/;
    let issued!: Awaited<ReturnType<typeof t.service.issue>>;
    const change = await t.queries.during(async () => (issued = await t.service.issue({ name: 'a' })));
    // The dispatcher, woken by the commit, may read the table meanwhile; only the change inserts.
    const outbox = change.filter((sql) => table.test(sql) && /^INSERT/i.test(sql));
    expect(outbox).toHaveLength(1);
    // Inside the transaction: after its BEGIN, before its COMMIT.
    const at = change.indexOf(outbox[0]);
    expect(change.slice(0, at).some((sql) => /^(BEGIN|START TRANSACTION)/i.test(sql))).toBe(true);
    expect(change.slice(at).some((sql) => /^COMMIT/i.test(sql))).toBe(true);
    await hooks.waitFor(1);
    const verify = await t.queries.during(() => t.service.verify(issued.key));
    expect(verify.filter((sql) => !table.test(sql))).toHaveLength(1); // the one lookup, as without webhooks
    expect(verify.filter((sql) => /^INSERT/i.test(sql))).toEqual([]);
  });

  it('sends nothing for a change that rolled back', async () => {
    const key = secret();
    const hooks = await receiver(key);
    const t = await app({ endpoints: [{ url: hooks.url, secret: key }], ...fast });
    const { record } = await t.service.issue({ name: 'a' });
    await hooks.waitFor(1);
    await expect(
      t.app.get(ApiKeyChanges).run(async ({ record: write }) => {
        write({ keyId: record.id, ownerId: null, type: 'scopes_changed', details: {} });
        throw new ApiKeyValidationError('fails after the audit write');
      }),
    ).rejects.toThrow('fails after the audit write');
    await t.service.revoke(record.id);
    await hooks.waitFor(2);
    await t.app.get(ApiKeyWebhookDispatcher).drain();
    expect(hooks.received.map((r) => (r.verified as { type: string }).type)).toEqual([
      'api-key.issued',
      'api-key.revoked',
    ]);
    expect((await log(t).list({ keyId: record.id })).items.map((row) => row.eventType).sort()).toEqual([
      'issued',
      'revoked',
    ]);
  });

  it('retries a receiver that answers 500 twice: 3 attempts, one webhook-id, delivered', async () => {
    const key = secret();
    const hooks = await receiver(key, (n) => (n < 2 ? 500 : 200));
    const t = await app({ endpoints: [{ url: hooks.url, secret: key }], ...fast });
    const { record } = await t.service.issue({ name: 'a' });
    await hooks.waitFor(3);
    expect(hooks.received.map((r) => r.answer)).toEqual([500, 500, 200]);
    expect(new Set(hooks.received.map((r) => r.id)).size).toBe(1);
    expect(hooks.received.every((r) => r.valid)).toBe(true);
    const [row] = await eventually(async () => {
      const { items } = await log(t).list({ keyId: record.id, status: 'delivered' });
      return items.length === 1 && items;
    });
    expect(row).toMatchObject({ id: hooks.received[0].id, attempts: 3, lastStatusCode: 200, status: 'delivered' });
    // No fourth request once delivered.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(hooks.received).toHaveLength(3);
  });

  it('marks a delivery failed after maxAttempts to a dead receiver, and logs it once', async () => {
    const url = await deadUrl();
    const t = await app({ endpoints: [{ url, secret: secret() }], ...fast, maxAttempts: 3 });
    const { record } = await t.service.issue({ name: 'a' });
    const [row] = await eventually(async () => {
      const { items } = await log(t).list({ keyId: record.id, status: 'failed' });
      return items.length === 1 && items;
    });
    expect(row).toMatchObject({ attempts: 3, lastStatusCode: null, status: 'failed' });
    expect(row.lastError).toMatch(/ECONNREFUSED/);
    const [line] = t.logs.lines.filter((entry) => /failed after 3 attempt/.test(entry));
    expect(t.logs.lines.filter((entry) => /failed after 3 attempt/.test(entry))).toHaveLength(1);
    expect(line).toContain(new URL(url).origin);
    expect(line).not.toContain(new URL(url).pathname); // receivers such as Slack's carry a token in the path
  });

  it('redelivers a failed delivery with the same webhook-id and a fresh count of attempts', async () => {
    const key = secret();
    let up = false;
    const hooks = await receiver(key, () => (up ? 204 : 503));
    const t = await app({ endpoints: [{ url: hooks.url, secret: key }], ...fast, maxAttempts: 2 });
    const { record } = await t.service.issue({ name: 'a' });
    const [failed] = await eventually(async () => {
      const { items } = await log(t).list({ keyId: record.id, status: 'failed' });
      return items.length === 1 && items;
    });
    expect(failed).toMatchObject({ attempts: 2, lastStatusCode: 503, lastError: 'HTTP 503' });
    await expect(log(t).redeliver('no-such-id')).rejects.toThrow(/no webhook delivery/);
    up = true;
    expect(await log(t).redeliver(failed.id)).toMatchObject({ status: 'pending', attempts: 0 });
    await eventually(async () => (await log(t).get(failed.id))?.status === 'delivered');
    expect(await log(t).get(failed.id)).toMatchObject({ attempts: 1, lastStatusCode: 204 });
    expect(hooks.received.map((r) => r.id)).toEqual([failed.id, failed.id, failed.id]);
    await expect(log(t).redeliver(failed.id)).rejects.toThrow(/is delivered; only failed/);
  });

  it('sends each endpoint only the event types it asked for', async () => {
    const [keyA, keyB] = [secret(), secret()];
    const all = await receiver(keyA);
    const revokedOnly = await receiver(keyB);
    const t = await app({
      endpoints: [
        { url: all.url, secret: keyA },
        { url: revokedOnly.url, secret: keyB, events: ['revoked'] },
      ],
      ...fast,
    });
    const { record } = await t.service.issue({ name: 'a' });
    await t.service.updateScopes(record.id, ['y']);
    await t.service.revoke(record.id);
    await all.waitFor(3);
    await revokedOnly.waitFor(1);
    await t.app.get(ApiKeyWebhookDispatcher).drain();
    expect(all.received.map((r) => (r.verified as { type: string }).type).sort()).toEqual([
      'api-key.issued',
      'api-key.revoked',
      'api-key.scopes_changed',
    ]);
    expect(revokedOnly.received.map((r) => (r.verified as { type: string }).type)).toEqual(['api-key.revoked']);
    expect(revokedOnly.received[0].valid).toBe(true);
  });

  it('a receiver that never answers delays neither the change nor shutdown; the attempt times out', async () => {
    const key = secret();
    const hooks = await receiver(key, () => 'hang');
    const t = await createTestApp({
      extras: { features: [withWebhooks({ endpoints: [{ url: hooks.url, secret: key }], ...fast, timeoutMs: 1500 })] },
    });
    let closed = false;
    cleanups.push(() => (closed ? undefined : t.close()));
    const started = Date.now();
    const { record } = await t.service.issue({ name: 'a' });
    expect(Date.now() - started).toBeLessThan(1500);
    await hooks.waitFor(1);
    const [row] = await eventually(async () => {
      const { items } = await log(t).list({ keyId: record.id });
      return items[0]?.lastError ? items : undefined;
    });
    expect(row).toMatchObject({ status: 'pending', lastError: 'no answer within 1500 ms' });
    // An attempt hangs again; shutdown aborts it at once, well before its timeout.
    await hooks.waitFor(2);
    const closing = Date.now();
    await t.close();
    closed = true;
    expect(Date.now() - closing).toBeLessThan(1500);
    expect(hooks.received).toHaveLength(2);
  });

  it('the sender resolves, never throws: refused, timed out, aborted before or during the request', async () => {
    const hooks = await receiver(secret(), () => 'hang');
    const request = { url: hooks.url, headers: {}, body: '{}', timeoutMs: 200 };
    const aborted = new AbortController();
    aborted.abort();
    await expect(sendWebhook({ ...request, signal: aborted.signal })).resolves.toEqual({
      error: 'aborted: shutting down',
    });
    expect(hooks.received).toHaveLength(0); // no connection at all
    const live = new AbortController();
    await expect(sendWebhook({ ...request, signal: live.signal })).resolves.toEqual({
      error: 'no answer within 200 ms',
    });
    const during = sendWebhook({ ...request, timeoutMs: 5000, signal: live.signal });
    await hooks.waitFor(2);
    live.abort();
    await expect(during).resolves.toEqual({ error: 'aborted: shutting down' });
    await expect(
      sendWebhook({ ...request, url: await deadUrl(), signal: new AbortController().signal }),
    ).resolves.toMatchObject({
      error: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it("queues the webhooks of already-committed work (expiry notices) through the change unit's announce()", async () => {
    const key = secret();
    const hooks = await receiver(key);
    const t = await app({ endpoints: [{ url: hooks.url, secret: key, events: ['expiring'] }], ...fast });
    const { record } = await t.service.issue({ name: 'a' });
    const at = new Date();
    await t.app
      .get(ApiKeyChanges)
      .announce([
        { type: 'expiring', keyId: record.id, ownerId: null, actor: null, at, details: { thresholdMs: 1000 } },
      ]);
    const [got] = await hooks.waitFor(1);
    expect(got.valid).toBe(true);
    expect(got.verified).toMatchObject({
      type: 'api-key.expiring',
      data: { keyId: record.id, details: { thresholdMs: 1000 } },
    });
  });

  it('two instances on one database send each event exactly once', async () => {
    const key = secret();
    const hooks = await receiver(key, (n) => (n % 7 === 3 ? 500 : 200));
    // A long timeout: an attempt whose 200 arrives late on a loaded machine is sent again (at least once, by
    // design); this test is about two instances never sending the same attempt, not about slow answers.
    const webhooks = { endpoints: [{ url: hooks.url, secret: key }], ...fast, pollIntervalMs: 10, timeoutMs: 15_000 };
    let sqliteFile: string | undefined;
    if (testDatabase() === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'apikeys-webhooks-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      sqliteFile = join(dir, 'keys.sqlite');
    }
    // A backlog: 20 committed changes whose instance stopped before sending them.
    const stopped = await createTestApp({ extras: { features: [withWebhooks(webhooks)] }, sqliteFile });
    await stopped.app.get(ApiKeyWebhookDispatcher).onModuleDestroy();
    const backlog = [];
    for (let i = 0; i < 20; i++) backlog.push(await stopped.service.issue({ name: `backlog${i}` }));
    await stopped.close();
    expect(hooks.received).toHaveLength(0);
    // Two instances start together and race for the same rows.
    const [a, b] = await Promise.all([
      app(webhooks, { sqliteFile, joinDatabase: true }),
      app(webhooks, { sqliteFile, joinDatabase: true }),
    ]);
    const issued = [...backlog];
    // Live changes through both instances at once. Not on SQLite: two connections to one file in one
    // process cannot wait for each other's locks (see concurrency.e2e-spec.ts).
    if (testDatabase() !== 'sqlite')
      issued.push(
        ...(await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).service.issue({ name: `k${i}` })))),
      );
    const delivered = await eventually(async () => {
      const page = await log(a).list({ status: 'delivered', limit: 100 });
      return page.total === issued.length && page.items;
    });
    await new Promise((resolve) => setTimeout(resolve, 200)); // both keep polling; nothing more is sent
    const ok = hooks.received.filter((r) => r.answer === 200);
    expect(ok).toHaveLength(issued.length);
    expect(new Set(ok.map((r) => r.id)).size).toBe(issued.length);
    expect(new Set(ok.map((r) => (r.verified as { data: { keyId: string } }).data.keyId))).toEqual(
      new Set(issued.map((k) => k.record.id)),
    );
    // Every request is one attempt of one row: attempts in the log add up to the requests received.
    expect(delivered.reduce((sum, row) => sum + row.attempts, 0)).toBe(hooks.received.length);
    expect(hooks.received.every((r) => r.valid)).toBe(true);
    for (const t of [a, b]) expect(t.logs.lines.filter((line) => /dispatch failed/.test(line))).toEqual([]);
  });
});
