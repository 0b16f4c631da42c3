import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import {
  ApiKeyEntity,
  ApiKeyModule,
  ApiKeyService,
  ApiKeyValidationError,
  type ApiKeyModuleOptions,
} from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import { ApiKeyRateLimiter, type RateLimiterModuleLoader } from '../../lib/verification/index.js';
import { OrdersController } from '../support/controllers.js';
import { testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';
import { LogCapture } from '../support/log-capture.js';

/**
 * The app as a host without `rate-limiter-flexible` installed: the module's
 * loader imports a package name that is not installed, so the import fails
 * exactly as the missing package's would (Node's own module-not-found error).
 */
const NOT_INSTALLED = 'rate-limiter-flexible-not-installed';
const missingPackage: RateLimiterModuleLoader = () => import(NOT_INSTALLED);

describe('rate limits without rate-limiter-flexible installed', () => {
  // The rate limiter loads the package through its loadModule() hook: here, a package name that is not there.
  beforeEach(() => {
    const limiter = ApiKeyRateLimiter.prototype as unknown as { loadModule: RateLimiterModuleLoader };
    jest.spyOn(limiter, 'loadModule').mockImplementation(missingPackage);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const apps: INestApplication[] = [];
  afterEach(async () => {
    while (apps.length) await apps.pop()!.close();
  });

  /** Compiles and initialises an app whose rate limiter loads `loader`. */
  async function boot(options: ApiKeyModuleOptions, logs = new LogCapture()): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          synchronize: true,
          dropSchema: true,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot(options),
      ],
      controllers: [OrdersController],
    }).compile();
    const app = await createPlatformApp(moduleRef, { logger: logs, abortOnError: false }).catch(async (error) => {
      await moduleRef.close();
      throw error;
    });
    apps.push(app);
    return app;
  }

  it('the loader really fails as a missing package does', async () => {
    await expect(missingPackage()).rejects.toMatchObject({ message: expect.stringContaining(NOT_INSTALLED) });
  });

  it.each<[string, ApiKeyModuleOptions]>([
    ['rateLimit', { rateLimit: { limit: 10, windowMs: 1000 } }],
    ['ownerRateLimit', { ownerRateLimit: { limit: 10, windowMs: 1000 } }],
    ["rateLimitBackend 'database'", { rateLimitBackend: 'database' }],
  ])('fails at boot, with the install command, when %s is configured', async (_name, options) => {
    await expect(boot(options)).rejects.toThrow(
      'rate limits need the rate-limiter-flexible package, which is not installed: npm install rate-limiter-flexible',
    );
  });

  it('boots when no limit is configured, and refuses to give a key a limit it cannot count (issue, update)', async () => {
    const logs = new LogCapture();
    const app = await boot({}, logs);
    expect(logs.lines.join('\n')).toContain('npm install rate-limiter-flexible');
    const service = app.get(ApiKeyService);
    const free = await service.issue({ name: 'free', scopes: ['orders:read'] });
    const rateLimit = { limit: 5, windowMs: 1000 };
    const refused = service.issue({ name: 'limited', scopes: ['orders:read'], rateLimit });
    await expect(refused).rejects.toBeInstanceOf(ApiKeyValidationError);
    await expect(refused).rejects.toThrow(/a key with one would only get 503: .*npm install rate-limiter-flexible/);
    await expect(service.update(free.record.id, { rateLimit })).rejects.toThrow(/npm install rate-limiter-flexible/);
    expect((await service.list()).total).toBe(1); // nothing issued
    expect((await service.get(free.record.id)).rateLimitMax).toBeNull();
    await request(app.getHttpServer()).get('/orders').set('X-API-Key', free.key).expect(200);
  });

  it('a key that already has a limit (set where the package was installed) fails closed: 503, never a pass', async () => {
    const app = await boot({});
    const service = app.get(ApiKeyService);
    const { key, record } = await service.issue({ name: 'limited later', scopes: ['orders:read'] });
    // As if set by another instance that has the package: straight into the row.
    await app
      .get(DataSource)
      .getRepository(ApiKeyEntity)
      .update(record.id, { rateLimitMax: 5, rateLimitWindowMs: 1000 });
    const res = await request(app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(503);
    expect(res.headers['retry-after']).toBe('5');
  });

  it('needs no package for a @nestjs/throttler storage (rateLimitStorage)', async () => {
    const app = await boot({
      rateLimit: { limit: 1, windowMs: 10_000 },
      rateLimitStorage: {
        increment: async (_key, _ttl, limit) => ({
          totalHits: limit + 1,
          timeToExpire: 9,
          isBlocked: true,
          timeToBlockExpire: 9,
        }),
      },
    });
    const { key } = await app.get(ApiKeyService).issue({ name: 'k', scopes: ['orders:read'] });
    await request(app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(429);
  });
});

describe('rate-limit options', () => {
  it.each<[string, ApiKeyModuleOptions, string]>([
    ['a bad ownerRateLimit', { ownerRateLimit: { limit: 0, windowMs: 1000 } }, 'ownerRateLimit: must be'],
    [
      'a bad backend',
      { rateLimitBackend: 'redis' as never },
      "rateLimitBackend must be 'memory', 'database' or { redis",
    ],
    [
      'a backend and a throttler storage',
      { rateLimitBackend: 'memory', rateLimitStorage: { increment: async () => ({}) as never } },
      'not both',
    ],
  ])('rejects %s at boot', async (_name, options, message) => {
    // What the module's options factory runs at boot; no app, so no half-booted DataSource is left behind.
    expect(() => new ResolvedApiKeyOptions(options)).toThrow(message);
  });
});
