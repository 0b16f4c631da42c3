// Writes a database as a host of release 0.1 would have it, with 0.1's own code (built by
// test/support/release-0.1.ts): its migrations, keys of every kind in two setups, real requests through
// its guard (usage rows, refused-use audit rows), webhook deliveries (delivered and failed), and what
// 0.1's readers answer. Plain JavaScript, run by Node alone: decorators are applied as calls.
//
//   node release-0.1-generator.mjs <0.1 lib/index.js> <out.json>   (RELEASE_DATABASE: DataSourceOptions as JSON)
//
// It prints no key: the plaintexts go to <out.json> only, which the test deletes.
import { Controller, Get, Inject, Injectable, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { DataSource } from 'typeorm';

const [entry, outFile] = process.argv.slice(2);
const v01 = await import(pathToFileURL(entry).href);
const database = JSON.parse(process.env.RELEASE_DATABASE);
const driver = database.type;

const partnersTagSecret = 'partners-tag-secret-of-at-least-32-bytes!';
const webhookSecret = 'whsec_' + Buffer.alloc(32, 7).toString('base64');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A receiver that takes every delivery, and a URL nothing listens on (deliveries there fail).
const received = [];
const receiver = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    received.push(request.headers['webhook-id']);
    response.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;
const dead = createServer();
await new Promise((resolve) => dead.listen(0, '127.0.0.1', resolve));
const deadUrl = `http://127.0.0.1:${dead.address().port}/gone`;
await new Promise((resolve) => dead.close(resolve));

/** Two setups as a 0.1 host configured them: all features on in the default one, environments and a tag in the other. */
const defaultSetup = {
  usage: { flushIntervalMs: 100 },
  events: {
    webhooks: {
      endpoints: [
        { url: webhookUrl, secret: webhookSecret },
        { url: deadUrl, secret: webhookSecret, events: ['revoked'] },
      ],
      maxAttempts: 2,
      retryDelayMs: 20,
      maxRetryDelayMs: 50,
      pollIntervalMs: 50,
      timeoutMs: 2000,
      allowInsecureUrls: true,
    },
  },
};
const partnersSetup = {
  name: 'partners',
  tableName: 'partner_keys',
  prefix: 'pk',
  header: 'x-partner-key',
  environments: ['live', 'test'],
  keyTag: { secrets: { 1: partnersTagSecret }, current: '1' },
};

class OrdersController {
  list() {
    return { ok: true };
  }
}
Get()(OrdersController.prototype, 'list', Object.getOwnPropertyDescriptor(OrdersController.prototype, 'list'));
v01.Scopes('orders:read')(
  OrdersController.prototype,
  'list',
  Object.getOwnPropertyDescriptor(OrdersController.prototype, 'list'),
);
UseGuards(v01.ApiKeyGuard)(OrdersController);
Controller('orders')(OrdersController);

class PartnersController {
  list() {
    return { ok: true };
  }
}
Get()(PartnersController.prototype, 'list', Object.getOwnPropertyDescriptor(PartnersController.prototype, 'list'));
UseGuards(v01.ApiKeyGuardFor('partners'))(PartnersController);
Controller('partners')(PartnersController);

/** The unnamed setup's service and webhook log, and the named setup's service, as a host's provider injects them. */
class Setups {
  constructor(service, webhooks, partners) {
    Object.assign(this, { service, webhooks, partners });
  }
}
Inject(v01.ApiKeyService)(Setups, undefined, 0);
Inject(v01.ApiKeyWebhookLog)(Setups, undefined, 1);
Inject(v01.getApiKeySetupToken('partners', 'service'))(Setups, undefined, 2);
Injectable()(Setups);

function rootModule({ fresh }) {
  class Root {}
  Module({
    imports: [
      TypeOrmModule.forRoot({
        ...database,
        autoLoadEntities: true,
        synchronize: false,
        dropSchema: fresh,
        migrations: [
          ...v01.apiKeyMigrations(driver),
          ...v01.apiKeyMigrations(driver, { tableName: partnersSetup.tableName }),
        ],
        migrationsRun: true,
        retryAttempts: 0,
      }),
      v01.ApiKeyModule.forRoot(defaultSetup),
      v01.ApiKeyModule.forRoot(partnersSetup),
    ],
    controllers: [OrdersController, PartnersController],
    providers: [Setups],
  })(Root);
  return Root;
}

async function eventually(check, what) {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// 1. Keys of every kind, through 0.1's service.
let app = await NestFactory.create(rootModule({ fresh: true }), { logger: ['error'] });
await app.listen(0, '127.0.0.1');
const base = await app.getUrl();
// app.get(ApiKeyService) could answer with the named setup's own: go through a host provider.
const { service, webhooks: log, partners } = app.get(Setups);
const issued = {};
const add = (role, setup, result) => (issued[role] = { id: result.record.id, setup, key: result.key });

const day = 86_400_000;
add('plain', 'default', await service.issue({ name: 'plain', scopes: ['orders:read'] }));
add(
  'owned',
  'default',
  await service.issue({
    name: 'owned',
    ownerId: 'acme',
    scopes: ['orders:read', 'orders:write'],
    metadata: { plan: 'pro', seats: 3, tags: ['a', 'b'] },
    expiresAt: new Date(Date.now() + 30 * day),
  }),
);
add(
  'rateLimited',
  'default',
  await service.issue({ name: 'limited', scopes: ['orders:read'], rateLimit: { limit: 100, windowMs: 60_000 } }),
);
add('maxUses', 'default', await service.issue({ name: 'uses', scopes: ['orders:read'], maxUses: 10 }));
add('exhausted', 'default', await service.issue({ name: 'exhausted', scopes: ['orders:read'], maxUses: 1 }));
add(
  'credits',
  'default',
  await service.issue({
    name: 'credits',
    scopes: ['orders:read'],
    credits: { remaining: 100, refill: { amount: 100, intervalMs: day } },
  }),
);
add(
  'allowed',
  'default',
  await service.issue({
    name: 'allowed',
    scopes: ['orders:read'],
    allowedIps: ['127.0.0.1', '::1', '::ffff:127.0.0.1'],
  }),
);
add(
  'blocked',
  'default',
  await service.issue({ name: 'blocked', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] }),
);
add('unscoped', 'default', await service.issue({ name: 'unscoped', scopes: ['billing'] }));
add('revoked', 'default', await service.issue({ name: 'revoked', ownerId: 'acme', scopes: ['orders:read'] }));
await service.revoke(issued.revoked.id, 'compromised', { actor: 'upgrade-fixture' });
add('disabled', 'default', await service.issue({ name: 'disabled', scopes: ['orders:read'] }));
await service.disable(issued.disabled.id, 'paused');
add(
  'expired',
  'default',
  await service.issue({ name: 'expired', scopes: ['orders:read'], expiresAt: new Date(Date.now() + 1500) }),
);
add(
  'graceOld',
  'default',
  await service.issue({ name: 'grace', ownerId: 'acme', scopes: ['orders:read'], maxUses: 50 }),
);
const grace = await service.rotate(issued.graceOld.id, { gracePeriodMs: day });
issued.graceNew = { id: grace.record.id, setup: 'default', key: grace.key };
add('rotatedOld', 'default', await service.issue({ name: 'rotated', scopes: ['orders:read'] }));
const rotated = await service.rotate(issued.rotatedOld.id);
issued.rotatedNew = { id: rotated.record.id, setup: 'default', key: rotated.key };
await service.update(issued.plain.id, { name: 'plain, renamed', metadata: { note: 'updated in 0.1' } });
add('partnerLive', 'partners', await partners.issue({ name: 'live', environment: 'live', scopes: ['partners'] }));
add('partnerTest', 'partners', await partners.issue({ name: 'test', environment: 'test' }));
add('partnerRevoked', 'partners', await partners.issue({ name: 'gone', environment: 'live' }));
await partners.revoke(issued.partnerRevoked.id);

// 2. Requests through 0.1's guard: usage counts, spent uses and credits, refused-use audit rows.
const call = async (role) => {
  const { setup, key } = issued[role];
  const [path, header] = setup === 'default' ? ['/orders', 'x-api-key'] : ['/partners', 'x-partner-key'];
  return (await fetch(base + path, { headers: { [header]: key } })).status;
};
await call('exhausted');
await sleep(Math.max(0, 1600 - (Date.now() - (await service.get(issued.expired.id)).createdAt.getTime())));
const statuses = {};
for (const role of Object.keys(issued)) await call(role);
for (const role of Object.keys(issued)) statuses[role] = await call(role);

// 3. Deliveries settle: the receiver's delivered, the dead URL's failed after its two attempts.
await eventually(async () => {
  const { items } = await log.list({ limit: 100 });
  return items.length > 0 && items.every((row) => row.status === 'delivered' || row.status === 'failed');
}, 'webhook deliveries to settle');
await app.close(); // flushes usage

// 4. What 0.1's readers answer, on a second boot of the same database (its migrations now a no-op).
app = await NestFactory.create(rootModule({ fresh: false }), { logger: ['error'] });
await app.init();
const { service: reader, webhooks: readLog, partners: again } = app.get(Setups);
const usageWindow = { from: new Date(Date.now() - 2 * day), to: new Date(Date.now() + day) };
const json = (value) => JSON.parse(JSON.stringify(value));
const fixture = { keys: {}, records: {}, events: {}, usage: {}, deliveries: {}, usageWindow: json(usageWindow) };
for (const [role, { id, setup, key }] of Object.entries(issued)) {
  fixture.keys[role] = { id, setup, key, status: statuses[role] };
  const keys = setup === 'default' ? reader : again;
  fixture.records[id] = json(await keys.get(id));
  fixture.events[id] = json((await keys.listEvents({ keyId: id, limit: 100 })).items);
  if (setup !== 'default') continue;
  fixture.usage[id] = json(await reader.usage({ keyId: id, ...usageWindow }));
  fixture.deliveries[id] = json((await readLog.list({ keyId: id, limit: 100 })).items);
}
await app.close();
receiver.close();

const raw = new DataSource({ ...database });
await raw.initialize();
const rows = await raw.query(`SELECT ${raw.driver.escape('name')} FROM ${raw.driver.escape('migrations')}`);
await raw.destroy();
fixture.migrations = rows.map((row) => row.name).sort();
fixture.settings = { partnersTagSecret, webhookSecret, webhookUrl, deadUrl };
writeFileSync(outFile, JSON.stringify(fixture, null, 2));
console.log(`0.1 database written: ${Object.keys(issued).length} keys, ${received.length} deliveries received`);
