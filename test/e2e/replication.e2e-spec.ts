import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { ApiKeyModule, ApiKeyService, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import type { DataSourceOptions, Logger as TypeOrmLogger, QueryRunner } from 'typeorm';
import { OrdersController } from '../support/controllers.js';
import { testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';

/**
 * A TypeORM `replication` DataSource, shaped as production ones are (a primary
 * and a read replica); both point at this test file's database, and a logger
 * records which of them ran each statement (the query runner's replication mode).
 */
class ModeLog implements TypeOrmLogger {
  readonly statements: { sql: string; mode: string }[] = [];
  logQuery(sql: string, _parameters?: unknown[], runner?: QueryRunner): void {
    this.statements.push({ sql, mode: runner?.getReplicationMode() ?? 'master' });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
  async during(work: () => Promise<unknown>): Promise<{ sql: string; mode: string }[]> {
    const start = this.statements.length;
    await work();
    return this.statements.slice(start);
  }
}

function replicated(): DataSourceOptions {
  const single = testDataSourceOptions() as DataSourceOptions & { url: string };
  const { url, ...rest } = single;
  return { ...rest, replication: { master: { url }, slaves: [{ url }] } } as DataSourceOptions;
}

describe.each(['primary', 'replica'] as const)('TypeORM replication, readFrom %s', (readFrom) => {
  const log = new ModeLog();
  let app: Awaited<ReturnType<typeof createPlatformApp>>;
  let service: ApiKeyService;
  const options: ApiKeyModuleOptions = readFrom === 'primary' ? {} : { readFrom };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...replicated(),
          autoLoadEntities: true,
          synchronize: true,
          dropSchema: true,
          logging: true,
          logger: log,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot(options),
      ],
      controllers: [OrdersController],
    }).compile();
    app = await createPlatformApp(moduleRef, { logger: false });
    service = app.get(ApiKeyService);
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (key: string) => request(app.getHttpServer()).get('/orders').set('X-API-Key', key);
  const expected = readFrom === 'primary' ? 'master' : 'slave';

  it(`reads the key for the guard on the ${readFrom}, in one statement`, async () => {
    const { key } = await service.issue({ name: 'replicated', scopes: ['orders:read'] });
    const statements = await log.during(() => get(key).expect(200));
    expect(statements.map((s) => s.mode)).toEqual([expected]);
  });

  it('sends the service reads that follow a change to the primary, so the record returned is fresh', async () => {
    const { key, record } = await service.issue({ name: 'revoked', scopes: ['orders:read'] });
    let revoked: Awaited<ReturnType<ApiKeyService['revoke']>> | undefined;
    const statements = await log.during(async () => {
      revoked = await service.revoke(record.id, 'test');
    });
    expect(revoked!.revokedAt).toBeInstanceOf(Date);
    expect(new Set(statements.map((s) => s.mode))).toEqual(new Set(['master']));
    // The audit trail read right after the change (the admin console's key page) comes from the primary too.
    let trail: Awaited<ReturnType<ApiKeyService['listEvents']>> | undefined;
    const reads = await log.during(async () => {
      trail = await service.listEvents({ keyId: record.id });
    });
    expect(trail!.items.map((event) => event.type)).toEqual(['revoked', 'issued']);
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads.map((s) => s.mode))).toEqual(new Set(['master']));
    // Both "servers" are one here, so the next request sees the revocation either way;
    // with a lagging replica only the primary guarantees it (docs/production-databases.md).
    await get(key).expect(401);
  });
});
