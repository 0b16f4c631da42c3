import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import {
  ApiKeyGuardFor,
  ApiKeyModule,
  ApiKeyService,
  CurrentApiKey,
  InjectApiKeyService,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';
import { GlobalController } from '../support/controllers.js';
import { testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';
import { LogCapture } from '../support/log-capture.js';
import { QueryCounter } from '../support/query-counter.js';

/** A route of the internal setup: behind the customer's global guard and the internal guard. */
@Controller('internal')
@UseGuards(ApiKeyGuardFor('internal'))
class InternalController {
  @Get()
  who(@CurrentApiKey() principal: ApiKeyPrincipal) {
    return { id: principal.id };
  }
}

/** The internal setup's service, injected by name. */
@Injectable()
class InternalKeys {
  constructor(@InjectApiKeyService('internal') readonly service: ApiKeyService) {}
}

/** The customer setup's service, as the root module resolves it. */
@Injectable()
class CustomerKeys {
  constructor(readonly service: ApiKeyService) {}
}

/** A second key setup in the same app: a named ApiKeyModule (own prefix, table and header). */
@Module({
  imports: [
    ApiKeyModule.forRoot({
      name: 'internal',
      prefix: 'ik',
      tableName: 'internal_keys',
      bearer: false,
      header: 'x-internal-key',
    }),
  ],
  controllers: [InternalController],
  providers: [InternalKeys],
})
class InternalModule {}

describe('Two key setups in one app: each verifies for itself', () => {
  let app: INestApplication;
  let customers: ApiKeyService;
  let internal: ApiKeyService;
  const queries = new QueryCounter();
  const logs = new LogCapture();
  const issued: string[] = [];
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          synchronize: true,
          dropSchema: true,
          logging: true,
          logger: queries,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({ prefix: 'sk', globalGuard: true }),
        InternalModule,
      ],
      controllers: [GlobalController],
      providers: [CustomerKeys],
    }).compile();
    app = await createPlatformApp(moduleRef, { logger: logs });
    customers = app.get(CustomerKeys).service;
    internal = app.get(InternalKeys).service;
  });

  afterAll(async () => {
    await app?.close();
    const text = logs.lines.join('\n');
    for (const key of issued) expect(text).not.toContain(key);
  });

  it('resolves each module its own service: keys go to their own tables with their own prefix', async () => {
    expect(internal).not.toBe(customers);
    const customer = await customers.issue({ name: 'customer' });
    const staff = await internal.issue({ name: 'staff' });
    issued.push(customer.key, staff.key);
    expect(customer.key.startsWith('sk_')).toBe(true);
    expect(staff.key.startsWith('ik_')).toBe(true);
    await expect(customers.get(staff.record.id)).rejects.toThrow();
  });

  it("does not admit a customer key on the internal guard once the customer's guard admitted it", async () => {
    const customer = await customers.issue({ name: 'customer' });
    issued.push(customer.key);
    // The customer's global guard admits the request; the internal guard must look for its own key.
    const res = await http().get('/internal').set('Authorization', `Bearer ${customer.key}`).expect(401);
    expect(res.body).toEqual({ statusCode: 401, message: 'API key required', error: 'Unauthorized' });
    // The same customer key in the internal header is not an internal key either: the identical 401.
    const wrong = await http()
      .get('/internal')
      .set('Authorization', `Bearer ${customer.key}`)
      .set('X-Internal-Key', customer.key)
      .expect(401);
    expect(wrong.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
  });

  it('admits a request carrying a key of each setup, each verified against its own table', async () => {
    const customer = await customers.issue({ name: 'customer' });
    const staff = await internal.issue({ name: 'staff' });
    issued.push(customer.key, staff.key);
    const statements = await queries.during(() =>
      http()
        .get('/internal')
        .set('Authorization', `Bearer ${customer.key}`)
        .set('X-Internal-Key', staff.key)
        .expect(200, { id: staff.record.id }),
    );
    const reads = statements.filter((sql) => sql.startsWith('SELECT'));
    expect(reads).toHaveLength(2);
    expect(reads.some((sql) => /[`"]api_keys[`"]/.test(sql))).toBe(true);
    expect(reads.some((sql) => /[`"]internal_keys[`"]/.test(sql))).toBe(true);
    // An internal key alone does not pass the customer's global guard.
    await http().get('/internal').set('X-Internal-Key', staff.key).expect(401);
    // Revoking the internal key closes the internal route at once, the customer key still valid.
    await internal.revoke(staff.record.id, 'test');
    await http()
      .get('/internal')
      .set('Authorization', `Bearer ${customer.key}`)
      .set('X-Internal-Key', staff.key)
      .expect(401);
    await http().get('/global/private').set('Authorization', `Bearer ${customer.key}`).expect(200);
  });
});
