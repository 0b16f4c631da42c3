import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { ApiKeyModule, ApiKeyService, apiKeyMigrations } from 'nestjs-opaque-keys';
import {
  ApiKeyLastAddress,
  ApiKeyLastAddressRecorder,
  lastAddressMigrations,
  withLastAddress,
} from 'nestjs-opaque-keys/last-address';
import { withUsage } from 'nestjs-opaque-keys/usage';
import { OrdersController } from '../support/controllers.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';
import { createPlatformApp } from '../support/http-platform.js';
import { QueryCounter } from '../support/query-counter.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * Where a key was last used from: the transport's address of each verified request, noted in memory (no
 * statement on the request path), written by one upsert per flush and at shutdown, read back by
 * `ApiKeyLastAddress`; whole or truncated; a client's X-Forwarded-For is not the address.
 */

const isAddressWrite = (sql: string) => /^INSERT INTO\s+\S*api_key_last_address\b/i.test(sql.trim());
const LOOPBACK = '127.0.0.1';

async function storedRows(t: TestApp): Promise<{ keyId: string; address: string }[]> {
  const e = (name: string) => t.dataSource.driver.escape(name);
  const rows: { keyId: string; address: string }[] = await t.dataSource.query(
    `SELECT ${e('keyId')}, ${e('address')} FROM ${e('api_key_last_address')} ORDER BY ${e('keyId')}`,
  );
  return rows.map(({ keyId, address }) => ({ keyId, address }));
}

describe(`last address (${testDatabase()})`, () => {
  it('writes nothing per request, one upsert per flush, and reads back the address of the transport', async () => {
    const t = await createTestApp({ controllers: [OrdersController], extras: { features: [withLastAddress()] } });
    try {
      const server = t.app.getHttpServer();
      const reader = t.app.get(ApiKeyLastAddress);
      const a = await t.service.issue({ name: 'a', scopes: ['orders:read'] });
      const b = await t.service.issue({ name: 'b', scopes: ['orders:read'] });
      const c = await t.service.issue({ name: 'c', scopes: ['orders:read'] });

      // The hot path: one SELECT per verified request, no write; a forged header changes nothing.
      const during = await t.queries.during(async () => {
        for (let i = 0; i < 3; i++)
          await request(server)
            .get('/orders')
            .set('X-API-Key', a.key)
            .set('X-Forwarded-For', '203.0.113.7')
            .expect(200);
        await request(server).get('/orders').set('X-API-Key', b.key).expect(200);
        await request(server).post('/orders').set('X-API-Key', c.key).expect(403); // refused: not noted
      });
      expect(during.filter((sql) => !/^SELECT/i.test(sql.trim()))).toEqual([]);
      expect(during).toHaveLength(5);
      expect(t.app.get(ApiKeyLastAddressRecorder).pendingKeys).toBe(2);
      expect(await reader.of(a.record.id)).toBeNull(); // not yet flushed

      const before = Date.now();
      const flushed = await t.queries.during(() => t.app.get(ApiKeyLastAddressRecorder).flush());
      expect(flushed).toHaveLength(1);
      expect(flushed.filter(isAddressWrite)).toHaveLength(1);
      expect(await storedRows(t)).toEqual(
        [
          { keyId: a.record.id, address: LOOPBACK }, // ::ffff:127.0.0.1 on a dual-stack socket, kept as IPv4
          { keyId: b.record.id, address: LOOPBACK },
        ].sort((x, y) => (x.keyId < y.keyId ? -1 : 1)),
      );
      const last = await reader.of(a.record.id);
      expect(last?.address).toBe(LOOPBACK);
      expect(last!.usedAt).toBeInstanceOf(Date);
      expect(Math.abs(last!.usedAt.getTime() - before)).toBeLessThan(60_000);
      expect(await reader.of(c.record.id)).toBeNull();
      expect(await reader.of('no-such-key')).toBeNull();

      // A later use replaces the row (the upsert), still one statement; an older note does not win over it.
      const recorder = t.app.get(ApiKeyLastAddressRecorder);
      recorder.note(a.record.id, '2001:db8:0:0:0:0:0:1');
      recorder.note(b.record.id, '198.51.100.4', Date.now() - 3_600_000);
      expect((await t.queries.during(() => recorder.flush())).filter(isAddressWrite)).toHaveLength(1);
      expect((await reader.of(a.record.id))?.address).toBe('2001:db8::1');
      expect((await reader.of(b.record.id))?.address).toBe(LOOPBACK);
      expect(await storedRows(t)).toHaveLength(2);
    } finally {
      await t.close();
    }
  });

  it('keeps only the network with truncate, and flushes at shutdown', async () => {
    const t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withUsage(), withLastAddress({ truncate: true, flushIntervalMs: 3_600_000 })] },
    });
    let closed = false;
    try {
      const server = t.app.getHttpServer();
      const { key, record } = await t.service.issue({ name: 'k', scopes: ['orders:read'] });
      await request(server).get('/orders').set('X-API-Key', key).expect(200);
      const recorder = t.app.get(ApiKeyLastAddressRecorder);
      const other = await t.service.issue({ name: 'v6', scopes: ['orders:read'] });
      recorder.note(other.record.id, '2001:db8:85a3:8d3:1319:8a2e:370:7348');
      await recorder.flush();
      const reader = t.app.get(ApiKeyLastAddress);
      expect((await reader.of(record.id))?.address).toBe('127.0.0.0/24');
      expect((await reader.of(other.record.id))?.address).toBe('2001:db8:85a3::/48');

      await request(server).get('/orders').set('X-API-Key', key).expect(200);
      expect(recorder.pendingKeys).toBe(1);
      const shutdown = await t.queries.during(async () => {
        await t.close();
        closed = true;
      });
      expect(shutdown.filter(isAddressWrite)).toHaveLength(1);
    } finally {
      if (!closed) await t.close();
    }
  });

  it('keeps the addresses of a failed flush for the next one', async () => {
    const t = await createTestApp({ controllers: [OrdersController], extras: { features: [withLastAddress()] } });
    try {
      const { key, record } = await t.service.issue({ name: 'k', scopes: ['orders:read'] });
      await request(t.app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200);
      const recorder = t.app.get(ApiKeyLastAddressRecorder);
      const e = (name: string) => t.dataSource.driver.escape(name);
      await t.dataSource.query(`ALTER TABLE ${e('api_key_last_address')} RENAME TO ${e('moved_away')}`);
      await recorder.flush(); // fails: no table; logged, kept
      expect(t.logs.lines.some((line) => /could not record the last address of 1 key/.test(line))).toBe(true);
      expect(recorder.pendingKeys).toBe(1);
      await t.dataSource.query(`ALTER TABLE ${e('moved_away')} RENAME TO ${e('api_key_last_address')}`);
      await recorder.flush();
      expect((await t.app.get(ApiKeyLastAddress).of(record.id))?.address).toBe(LOOPBACK);
    } finally {
      await t.close();
    }
  });

  it("follows the adapter's trust: X-Forwarded-For counts only behind a trusted proxy", async () => {
    const t = await createTestApp({
      controllers: [OrdersController],
      extras: { features: [withLastAddress({ truncate: { ipv4: 16 } })] },
      trustProxy: true,
    });
    try {
      const { key, record } = await t.service.issue({ name: 'k', scopes: ['orders:read'] });
      await request(t.app.getHttpServer())
        .get('/orders')
        .set('X-API-Key', key)
        .set('X-Forwarded-For', '203.0.113.7')
        .expect(200);
      await t.app.get(ApiKeyLastAddressRecorder).flush();
      expect((await t.app.get(ApiKeyLastAddress).of(record.id))?.address).toBe('203.0.0.0/16');
    } finally {
      await t.close();
    }
  });

  it('works on the tables its migrations make (no synchronize), on a custom key table too', async () => {
    const database = { sqlite: 'better-sqlite3', postgres: 'postgres', mariadb: 'mariadb' } as const;
    const type = database[testDatabase()];
    const queries = new QueryCounter();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...testDataSourceOptions(),
          autoLoadEntities: true,
          dropSchema: true,
          synchronize: false,
          migrations: [
            ...apiKeyMigrations(type, { tableName: 'svc_keys' }),
            ...lastAddressMigrations(type, { tableName: 'svc_keys' }),
          ],
          migrationsRun: true,
          logging: true,
          logger: queries,
          retryAttempts: 0,
        }),
        ApiKeyModule.forRoot({ tableName: 'svc_keys', features: [withLastAddress()] }),
      ],
      controllers: [OrdersController],
    }).compile();
    const app = await createPlatformApp(moduleRef, { logger: false });
    try {
      const { key, record } = await app.get(ApiKeyService).issue({ name: 'k', scopes: ['orders:read'] });
      await request(app.getHttpServer()).get('/orders').set('X-API-Key', key).expect(200);
      const flushed = await queries.during(() => app.get(ApiKeyLastAddressRecorder).flush());
      expect(flushed.filter((sql) => /^INSERT INTO\s+\S*svc_keys_last_address\b/i.test(sql))).toHaveLength(1);
      expect((await app.get(ApiKeyLastAddress).of(record.id))?.address).toBe(LOOPBACK);
      // Nothing left for synchronize to do: the migration made the table the entity describes.
      const log = await app.get(DataSource).driver.createSchemaBuilder().log();
      // (Earlier apps of this file left the default tables' entities in autoLoadEntities: those are not made here.)
      expect(log.upQueries.map((query) => query.query).filter((sql) => sql.includes('svc_keys'))).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('refuses to boot without its table, naming its migrations', async () => {
    const database = { sqlite: 'better-sqlite3', postgres: 'postgres', mariadb: 'mariadb' } as const;
    let opened: DataSource | undefined;
    try {
      const moduleRef = Test.createTestingModule({
        imports: [
          TypeOrmModule.forRootAsync({
            useFactory: () => ({
              ...testDataSourceOptions(),
              autoLoadEntities: true,
              dropSchema: true,
              synchronize: false,
              migrations: apiKeyMigrations(database[testDatabase()], { tableName: 'bare_keys' }),
              migrationsRun: true,
              retryAttempts: 0,
            }),
            // Kept, so that the failed boot's connection can be closed.
            dataSourceFactory: async (options) => (opened = await new DataSource(options!).initialize()),
          }),
          ApiKeyModule.forRoot({ tableName: 'bare_keys', features: [withLastAddress()] }),
        ],
      });
      await expect(
        moduleRef.compile().then((ref) => ref.createNestApplication({ logger: false }).init()),
      ).rejects.toThrow(/lastAddressMigrations/);
    } finally {
      if (opened?.isInitialized) await opened.destroy();
    }
  });
});
