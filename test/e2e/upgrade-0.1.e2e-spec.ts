import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, Get, Inject, Injectable, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ApiKeyGuard,
  ApiKeyGuardFor,
  ApiKeyModule,
  ApiKeyService,
  ApiKeyVerifier,
  Scopes,
  apiKeyEntities,
  apiKeyMigrations,
  getApiKeySetupToken,
  type ApiKeyMigrationDatabase,
} from 'nestjs-opaque-keys';
import { ApiKeyUsageReader, usageEntities, usageMigrations, withUsage } from 'nestjs-opaque-keys/usage';
import { ApiKeyWebhookLog, webhookEntities, webhookMigrations, withWebhooks } from 'nestjs-opaque-keys/webhooks';
import request from 'supertest';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { testDatabase, testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';
import { LogCapture } from '../support/log-capture.js';
import { buildRelease01, generateRelease01Database, type Release01Fixture } from '../support/release-0.1.js';

/**
 * Upgrading from 0.1: release 0.1's own code (taken from git, run in its own Node process by
 * test/support/release-0.1-generator.mjs) migrates this file's database and fills it, in two setups, with keys of
 * every kind, requests through its guard (usage, spent uses and credits, refused-use audit rows) and webhook
 * deliveries; this version then lists its migrations as CHANGELOG.md's "Upgrading from 0.1" says (the core's
 * `apiKeyMigrations()` per key table, then `usageMigrations()` and `webhookMigrations()`), boots with the
 * features, and must read every record as 0.1 read it and give every key 0.1's verdict. Needs the 0.1 commit in
 * the clone's history (see test/support/release-0.1.ts); a second or so to build it, about 8 s to fill the database.
 */
jest.setTimeout(120_000);

const DRIVER: Record<ReturnType<typeof testDatabase>, ApiKeyMigrationDatabase> = {
  sqlite: 'better-sqlite3',
  postgres: 'postgres',
  mariadb: 'mariadb',
};
const driver = DRIVER[testDatabase()];
const PARTNERS = 'partner_keys';

/** The verdicts 0.1 gave, written out: the fixture must hold keys of each outcome, not only live ones. */
const EXPECTED_STATUS: Record<string, number> = {
  plain: 200,
  owned: 200,
  rateLimited: 200,
  maxUses: 200,
  credits: 200,
  allowed: 200,
  graceOld: 200,
  graceNew: 200,
  rotatedNew: 200,
  partnerLive: 200,
  partnerTest: 200,
  blocked: 403,
  unscoped: 403,
  exhausted: 401,
  revoked: 401,
  disabled: 401,
  expired: 401,
  rotatedOld: 401,
  partnerRevoked: 401,
};

/** The migrations an upgraded host lists: the core's for each key table, and each feature's it switches on. */
function upgradedMigrations() {
  return [
    ...apiKeyMigrations(driver),
    ...usageMigrations(driver),
    ...webhookMigrations(driver),
    ...apiKeyMigrations(driver, { tableName: PARTNERS }),
  ];
}

@Controller('orders')
@UseGuards(ApiKeyGuard)
class OrdersController {
  @Get()
  @Scopes('orders:read')
  list() {
    return { ok: true };
  }
}

@Controller('partners')
@UseGuards(ApiKeyGuardFor('partners'))
class PartnersController {
  @Get()
  list() {
    return { ok: true };
  }
}

/** The setups' parts, as a host's provider injects them. */
@Injectable()
class Setups {
  constructor(
    readonly service: ApiKeyService,
    readonly verifier: ApiKeyVerifier,
    readonly usage: ApiKeyUsageReader,
    readonly webhooks: ApiKeyWebhookLog,
    @Inject(getApiKeySetupToken('partners', 'service')) readonly partners: ApiKeyService,
  ) {}
}

const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe(`upgrade from 0.1 (${testDatabase()})`, () => {
  const dir = join(resolve('.'), 'build', `upgrade-0.1-${process.pid}`);
  let database: DataSourceOptions;
  let fixture: Release01Fixture;
  let app: INestApplication;
  let setups: Setups;
  const logs = new LogCapture();

  beforeAll(async () => {
    const entry = buildRelease01(dir);
    database = testDataSourceOptions({ sqliteFile: join(dir, 'upgrade.sqlite') });
    fixture = await generateRelease01Database(entry, database, join(dir, 'fixture.json'));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('0.1 wrote keys of every outcome and every kind of record', () => {
    const statuses = Object.fromEntries(Object.entries(fixture.keys).map(([role, key]) => [role, key.status]));
    expect(statuses).toEqual(EXPECTED_STATUS);
    const ids = Object.values(fixture.keys).map((key) => key.id);
    expect(ids.every((id) => fixture.events[id].length > 0)).toBe(true);
    const deliveries = Object.values(fixture.deliveries).flat() as { status: string }[];
    expect(new Set(deliveries.map((row) => row.status))).toEqual(new Set(['delivered', 'failed']));
    const series = Object.values(fixture.usage) as { points: { total: number }[] }[];
    const counted = series.filter(({ points }) => points.some((point) => point.total > 0));
    expect(counted.length).toBeGreaterThanOrEqual(10);
  });

  it('finds nothing to migrate: the new migrations are 0.1 ones by name, and the schema is what the entities expect', async () => {
    const dataSource = new DataSource({
      ...database,
      entities: [...apiKeyEntities(), ...usageEntities(), ...webhookEntities(), ...apiKeyEntities(PARTNERS)],
      migrations: upgradedMigrations(),
    } as DataSourceOptions);
    await dataSource.initialize();
    try {
      expect(await dataSource.showMigrations()).toBe(false); // nothing pending
      expect(await dataSource.runMigrations()).toEqual([]);
      const upQueries = (await dataSource.driver.createSchemaBuilder().log()).upQueries.map((query) => query.query);
      expect(upQueries).toEqual([]);
      const names = upgradedMigrations().map((migration) => new migration().name);
      expect(fixture.migrations).toEqual(expect.arrayContaining(names));
    } finally {
      await dataSource.destroy();
    }
  });

  it('boots with the features on the 0.1 database (boot checks pass, migrationsRun is a no-op)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...database,
          autoLoadEntities: true,
          migrations: upgradedMigrations(),
          migrationsRun: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({
          features: [
            withUsage({ flushIntervalMs: 100 }),
            withWebhooks({
              endpoints: [
                { url: fixture.settings.webhookUrl, secret: fixture.settings.webhookSecret },
                { url: fixture.settings.deadUrl, secret: fixture.settings.webhookSecret, events: ['revoked'] },
              ],
              maxAttempts: 2,
              allowInsecureUrls: true,
            }),
          ],
        }),
        ApiKeyModule.forRoot({
          name: 'partners',
          tableName: PARTNERS,
          prefix: 'pk',
          header: 'x-partner-key',
          environments: ['live', 'test'],
          keyTag: { secrets: { 1: fixture.settings.partnersTagSecret }, current: '1' },
        }),
      ],
      controllers: [OrdersController, PartnersController],
      providers: [Setups],
    }).compile();
    app = await createPlatformApp(moduleRef, { logger: logs });
    setups = app.get(Setups);
    expect(logs.lines.filter((line) => /error/i.test(line))).toEqual([]);
  });

  // Reads first: the requests below add audit rows and usage counts of their own.
  it('reads every key as 0.1 did (scopes, owner, metadata, limits, credits, allowlist, state)', async () => {
    for (const { id, setup } of Object.values(fixture.keys)) {
      const service = setup === 'default' ? setups.service : setups.partners;
      expect(json(await service.get(id))).toMatchObject(fixture.records[id]);
    }
  });

  it('reads the audit trail as 0.1 did', async () => {
    for (const { id, setup } of Object.values(fixture.keys)) {
      const service = setup === 'default' ? setups.service : setups.partners;
      expect(json((await service.listEvents({ keyId: id, limit: 100 })).items)).toEqual(fixture.events[id]);
    }
  });

  it('reads usage through the usage feature as 0.1 read it through ApiKeyService.usage', async () => {
    const from = new Date(fixture.usageWindow.from);
    const to = new Date(fixture.usageWindow.to);
    for (const [id, series] of Object.entries(fixture.usage)) {
      expect(json(await setups.usage.series({ keyId: id, from, to }))).toEqual(series);
    }
  });

  it('reads webhook deliveries through the webhooks feature as 0.1 did', async () => {
    for (const [id, deliveries] of Object.entries(fixture.deliveries)) {
      expect(json((await setups.webhooks.list({ keyId: id, limit: 100 })).items)).toEqual(deliveries);
    }
  });

  it('gives every key the HTTP verdict 0.1 gave it', async () => {
    const statuses: Record<string, number> = {};
    for (const [role, { setup, key }] of Object.entries(fixture.keys)) {
      const [path, header] = setup === 'default' ? ['/orders', 'x-api-key'] : ['/partners', 'x-partner-key'];
      statuses[role] = (await request(app.getHttpServer()).get(path).set(header, key)).status;
    }
    expect(statuses).toEqual(EXPECTED_STATUS);
  });

  it('verify() accepts exactly the keys 0.1 let through (200, or 403 for a scope or an address)', async () => {
    for (const [role, { setup, key, status }] of Object.entries(fixture.keys)) {
      const verification = setup === 'default' ? await setups.verifier.verify(key) : await setups.partners.verify(key);
      expect({ role, valid: verification.valid }).toEqual({ role, valid: status !== 401 });
    }
  });
});
