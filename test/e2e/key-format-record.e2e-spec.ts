import { afterAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyEventEntity, ApiKeyModule, ApiKeyService, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { readKeyFormat } from '../../lib/storage/index.js';
import { serverUrl, testDatabase, testDataSourceOptions, testSchema } from '../support/database.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The app records its key format at boot, in the audit table, for the operator
 * CLI (lib/storage/key-format.record.ts): one row while the format does not
 * change, a new one when it does, no secret, nothing with `recordKeyFormat:
 * false`, and a warning (never a failed boot) when it cannot write. SQLite,
 * PostgreSQL and MariaDB (DB_TYPE).
 */
const DAY = 86_400_000;
const SAMPLE_POLICY: ApiKeyModuleOptions = {
  prefix: 'sk',
  environments: ['live', 'test'],
  defaultLifetimeMs: 90 * DAY,
  maxLifetimeMs: 365 * DAY,
};
const SECRET = 'a-random-tag-secret-of-at-least-32-bytes-0123456789';

describe('the key format recorded at boot', () => {
  const sqliteFile = join(tmpdir(), `key-format-${process.pid}.sqlite`);
  afterAll(() => rmSync(sqliteFile, { force: true }));

  /** Boots an app on this file's database (the first one of a test empties it), runs `work`, closes it. */
  async function booted<T>(options: ApiKeyModuleOptions, join: boolean, work: (t: TestApp) => Promise<T>): Promise<T> {
    const t = await createTestApp({ options, sqliteFile, joinDatabase: join });
    try {
      return await work(t);
    } finally {
      await t.close();
    }
  }
  const rows = (t: TestApp) =>
    t.dataSource.getRepository(ApiKeyEventEntity).find({ where: { type: 'key_format' }, order: { at: 'ASC' } });
  const formatInserts = (t: TestApp) =>
    t.queries.queries.filter((sql) => /^INSERT INTO\s+\S*api_key_events\b/i.test(sql));

  it('writes one row at the first boot, none while the format stays, a new one when it changes', async () => {
    await booted(SAMPLE_POLICY, false, async (t) => {
      const [row, ...more] = await rows(t);
      expect(more).toEqual([]);
      expect(row).toMatchObject({ keyId: 'key-format', ownerId: null, actor: 'boot' });
      expect(row.details).toEqual({
        formatVersion: 1,
        prefix: 'sk',
        environments: ['live', 'test'],
        entropyBits: 256,
        defaultLifetimeMs: 90 * DAY,
        maxLifetimeMs: 365 * DAY,
        maxKeysPerOwner: null,
        keyTag: null,
      });
      // It is no key's event: the audit trail of keys and owners does not show it.
      expect((await t.service.listEvents({ keyId: 'key-format' })).total).toBe(1);
    });
    await booted(SAMPLE_POLICY, true, async (t) => {
      expect(formatInserts(t)).toEqual([]);
      expect(await rows(t)).toHaveLength(1);
    });
    await booted({ ...SAMPLE_POLICY, environments: ['live'], maxKeysPerOwner: 5 }, true, async (t) => {
      expect(formatInserts(t)).toHaveLength(1);
      expect(await rows(t)).toHaveLength(2);
      const newest = await readKeyFormat(t.dataSource, ApiKeyEventEntity);
      expect(newest?.format).toMatchObject({ environments: ['live'], maxKeysPerOwner: 5 });
    });
  });

  it('names the keyed tag by its version and a check value, never its secret', async () => {
    const keyTag = { secrets: { '2': SECRET }, current: '2', acceptUntagged: false };
    const check = await booted({ prefix: 'acme', keyTag }, false, async (t) => {
      const [row] = await rows(t);
      expect(JSON.stringify(row)).not.toContain(SECRET);
      expect(row.details!.keyTag).toEqual({
        version: '2',
        check: expect.stringMatching(/^2[0-9A-Za-z]{7}$/),
        acceptUntagged: false,
      });
      expect(t.logs.lines.join('\n')).not.toContain(SECRET);
      return (row.details!.keyTag as { check: string }).check;
    });
    // Another secret of the same version is a new format, with another check value.
    await booted(
      { prefix: 'acme', keyTag: { ...keyTag, secrets: { '2': SECRET.replace('a-', 'b-') } } },
      true,
      async (t) => {
        const newest = await readKeyFormat(t.dataSource, ApiKeyEventEntity);
        expect(newest?.format?.keyTag?.check).toMatch(/^2[0-9A-Za-z]{7}$/);
        expect(newest?.format?.keyTag?.check).not.toBe(check);
      },
    );
  });

  it('writes nothing with recordKeyFormat: false', async () => {
    await booted({ ...SAMPLE_POLICY, recordKeyFormat: false }, false, async (t) => {
      expect(await rows(t)).toEqual([]);
      expect(formatInserts(t)).toEqual([]);
    });
  });

  it('schemaCheck: false on tables not migrated yet: one warning, and the app starts', async () => {
    await booted(SAMPLE_POLICY, false, async (t) => {
      await t.dataSource.query(
        `DROP TABLE ${t.dataSource.driver.escape(t.dataSource.getMetadata(ApiKeyEventEntity).tableName)}`,
      );
    });
    await booted({ ...SAMPLE_POLICY, schemaCheck: false }, true, async (t) => {
      const warnings = t.logs.lines.filter((line) => line.startsWith('warn') && line.includes('key format'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('could not record the key format for the operator CLI');
      expect(warnings[0]).toContain('recordKeyFormat: false');
      expect(warnings[0]).toMatch(/api_key_events/); // the driver's reason: the table is not there yet
    });
  });

  it('a read-only database user: one warning, and the app starts and verifies keys', async () => {
    const { key } = await booted({ ...SAMPLE_POLICY, lastUsedIntervalMs: 0 }, false, (t) =>
      t.service.issue({ name: 'before' }),
    );
    const readOnly = await readOnlyAccess(sqliteFile);
    const logs = new LogCapture();
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          ...readOnly.options,
          autoLoadEntities: true,
          retryAttempts: 0,
        } as TypeOrmModuleOptions),
        // Another format than the one recorded, so that the app tries to write it.
        ApiKeyModule.forRoot({ ...SAMPLE_POLICY, maxKeysPerOwner: 3, lastUsedIntervalMs: 0 }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: logs });
    try {
      await app.init();
      expect(logs.lines.filter((line) => line.includes('could not record the key format'))).toHaveLength(1);
      expect(await app.get(ApiKeyService).verify(key)).toMatchObject({ valid: true });
      const newest = await readKeyFormat(app.get(DataSource), ApiKeyEventEntity);
      expect(newest?.format?.maxKeysPerOwner).toBeNull(); // still the format written before
    } finally {
      await app.close();
      await readOnly.drop();
    }
  });
});

/**
 * Connection options for this file's database through a user that may only
 * read: SQLite opened read-only, PostgreSQL in read-only transactions, MariaDB
 * as a user granted SELECT only (dropped by `drop`).
 */
async function readOnlyAccess(sqliteFile: string): Promise<{ options: DataSourceOptions; drop(): Promise<void> }> {
  const options = testDataSourceOptions({ sqliteFile });
  if (testDatabase() === 'sqlite')
    return { options: { ...options, readonly: true } as DataSourceOptions, drop: async () => {} };
  if (testDatabase() === 'postgres') {
    const extra = { options: `-c search_path=${testSchema()} -c default_transaction_read_only=on` };
    return { options: { ...options, extra } as DataSourceOptions, drop: async () => {} };
  }
  const user = `ro_${process.pid}`;
  const root = await new DataSource(options).initialize();
  await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'read-only'`);
  await root.query(`GRANT SELECT ON \`${testSchema()}\`.* TO '${user}'@'%'`);
  const url = new URL(serverUrl());
  url.username = user;
  url.password = 'read-only';
  url.pathname = `/${testSchema()}`;
  return {
    options: { type: 'mariadb', url: url.toString() },
    async drop() {
      await root.query(`DROP USER '${user}'@'%'`);
      await root.destroy();
    },
  };
}
