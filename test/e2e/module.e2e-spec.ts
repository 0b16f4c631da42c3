import { afterEach, describe, expect, it } from '@jest/globals';
import { Body, Controller, Get, Injectable, Module, Post, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import {
  ApiKeyGuard,
  ApiKeyConfigurationError,
  ApiKeyModule,
  ApiKeyService,
  CurrentApiKey,
  Scopes,
  type ApiKeyModuleOptions,
} from 'nestjs-opaque-keys';
import type { DataSource } from 'typeorm';
import { GlobalController, OrdersController } from '../support/controllers.js';
import { testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe('ApiKeyModule configuration', () => {
  const apps: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    while (apps.length) await apps.pop()!.close();
  });

  it('installs the guard globally when asked; @Public() opts out', async () => {
    const t: TestApp = await createTestApp({ controllers: [GlobalController], extras: { globalGuard: true } });
    apps.push(t);
    const { key, record } = await t.service.issue({ name: 'g' });
    await request(t.app.getHttpServer()).get('/global/health').expect(200, { status: 'ok' });
    await request(t.app.getHttpServer()).get('/global/private').expect(401);
    await request(t.app.getHttpServer())
      .get('/global/private')
      .set('Authorization', `Bearer ${key}`)
      .expect(200, { id: record.id });
  });

  it('verifies, counts and charges a request once when bound globally and with @UseGuards', async () => {
    const t: TestApp = await createTestApp({ controllers: [OrdersController], extras: { globalGuard: true } });
    apps.push(t);
    const { key, record } = await t.service.issue({ name: 'twice', scopes: ['orders:read'], maxUses: 5 });
    const statements = await t.queries.during(() =>
      request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200),
    );
    expect(statements.filter((sql) => sql.startsWith('SELECT'))).toHaveLength(1);
    expect(statements.filter((sql) => sql.startsWith('UPDATE'))).toHaveLength(1);
    expect((await t.service.get(record.id)).remainingUses).toBe(4);
    // The second pass still checks the route's scopes.
    await request(t.app.getHttpServer()).post('/orders').set('X-API-Key', key).expect(403);
  });

  it('refuses to boot when a route carries the library decorators but no guard covers it, naming it and the fixes', async () => {
    // GlobalController's private route reads @CurrentApiKey() and has no @UseGuards: without the global guard,
    // nothing would check its key.
    const error = await createTestApp({ controllers: [GlobalController] }).then(
      (t) => (apps.push(t), undefined),
      (failure: Error) => failure,
    );
    expect(error).toBeInstanceOf(ApiKeyConfigurationError);
    expect(error).toMatchObject({ option: 'routeCheck' });
    expect(error!.message).toContain('GlobalController.secret (@CurrentApiKey)');
    expect(error!.message).toContain('ApiKeyModule.forRoot({ globalGuard: true })');
    expect(error!.message).toContain('@UseGuards(ApiKeyGuard)');
    expect(error!.message).toContain('routeCheck: false');
    expect(error!.message).not.toContain('GlobalController.health'); // @Public()
  });

  it("refuses to boot the issue's app: @Scopes('keys:admin') on POST /keys, with no guard anywhere", async () => {
    @Controller('keys')
    class UnguardedKeysController {
      constructor(private readonly keys: ApiKeyService) {}

      @Post()
      @Scopes('keys:admin')
      issue(@Body() body: { scopes: string[] }) {
        return this.keys.issue({ name: 'minted', scopes: body.scopes });
      }
    }
    await expect(
      createTestApp({ controllers: [UnguardedKeysController], options: { prefix: 'acme' } }),
    ).rejects.toThrow(/UnguardedKeysController\.issue \(@Scopes\/@AnyScope\)/);
  });

  it('with routeCheck: false, boots, and routes without @UseGuards are not guarded (the host guards another way)', async () => {
    const t = await createTestApp({ controllers: [GlobalController], options: { routeCheck: false } });
    apps.push(t);
    await request(t.app.getHttpServer()).get('/global/private').expect(200);
  });

  it('takes prefix, header, realm and Retry-After from forRootAsync with injected config', async () => {
    @Injectable()
    class KeyConfig {
      readonly options: ApiKeyModuleOptions = {
        prefix: 'acme_live',
        header: 'X-Acme-Key',
        bearer: false,
        realm: 'acme',
        entropyBits: 128,
      };
    }
    @Module({ providers: [KeyConfig], exports: [KeyConfig] })
    class ConfigModule {}
    @Controller('x')
    @UseGuards(ApiKeyGuard)
    class XController {
      @Get()
      @Scopes('x:read')
      get(@CurrentApiKey('name') name: string) {
        return { name };
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          synchronize: true,
          dropSchema: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRootAsync({
          imports: [ConfigModule],
          inject: [KeyConfig],
          useFactory: (config: KeyConfig) => config.options,
        }),
      ],
      controllers: [XController],
    }).compile();
    const app = await createPlatformApp(moduleRef, { logger: false });
    apps.push(app);
    const { key } = await app.get(ApiKeyService).issue({ name: 'acme', scopes: ['x:read'] });
    expect(key).toMatch(/^acme_live_[0-9A-Za-z]{28}$/);
    const http = () => request(app.getHttpServer());
    await http().get('/x').set('X-Acme-Key', key).expect(200, { name: 'acme' });
    const bearerOff = await http().get('/x').set('Authorization', `Bearer ${key}`).expect(401);
    expect(bearerOff.headers['www-authenticate']).toBe('Bearer realm="acme"');
    const res = await http().get('/x').set('X-Acme-Key', key.replace('acme_live_', 'acme_test_')).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="acme", error="invalid_token"');
  });

  it('uses a named DataSource and a custom table, leaving the default one alone', async () => {
    @Controller('named')
    @UseGuards(ApiKeyGuard)
    class NamedController {
      @Get()
      get() {
        return { ok: true };
      }
    }
    const base = { ...testDataSourceOptions(), synchronize: true, dropSchema: true, retryAttempts: 0 };
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ ...base }),
        TypeOrmModule.forRoot({ ...base, name: 'keys', autoLoadEntities: true }),
        ApiKeyModule.forRoot({ dataSource: 'keys', tableName: 'service_keys', prefix: 'svc' }),
      ],
      controllers: [NamedController],
    }).compile();
    const app = await createPlatformApp(moduleRef, { logger: false });
    apps.push(app);
    const { key } = await app.get(ApiKeyService).issue({ name: 'named' });
    await request(app.getHttpServer()).get('/named').set('Authorization', `Bearer ${key}`).expect(200);
    const keys = app.get<DataSource>(getDataSourceToken('keys'));
    const rows = await keys.query(`SELECT ${keys.driver.escape('name')} FROM ${keys.driver.escape('service_keys')}`);
    expect(rows).toEqual([{ name: 'named' }]);
    const defaultSource = app.get<DataSource>(getDataSourceToken());
    expect(defaultSource.hasMetadata('ApiKeyEntity_service_keys')).toBe(false);
  });

  it('rejects invalid options at startup', async () => {
    const build = Test.createTestingModule({
      imports: [
        // No connection: the module must fail before any database work, and leave nothing open.
        TypeOrmModule.forRoot({ ...testDataSourceOptions(), autoLoadEntities: true, manualInitialization: true }),
        ApiKeyModule.forRoot({ prefix: 'not-valid' }),
      ],
    }).compile();
    await expect(build).rejects.toThrow(/prefix/);
  });
});
