import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { apiKeyEntityFor, ApiKeyStoreUnavailableError, generateApiKey, hashApiKey } from 'nestjs-opaque-keys';
import { DataSource, EventSubscriber, type EntitySubscriberInterface } from 'typeorm';
import { TypeOrmApiKeyStore } from '../../lib/storage/index.js';
import { testDatabase, testDataSourceOptions } from '../support/database.js';
import { QueryCounter } from '../support/query-counter.js';
import { createTestApp } from '../support/test-app.js';

const entity = apiKeyEntityFor('store_spec_keys');
/** PostgreSQL and MariaDB batch the lookups of one event-loop turn into one statement; better-sqlite3 answers each at once. */
const batched = testDatabase() !== 'sqlite';

/** A fresh DataSource on this worker's database with every statement counted. */
async function openDataSource(
  queries: QueryCounter,
  extra: { subscribers?: (new () => object)[] } = {},
): Promise<DataSource> {
  const dataSource = new DataSource({
    ...testDataSourceOptions(),
    entities: [entity],
    synchronize: true,
    dropSchema: true,
    logging: true,
    logger: queries,
    ...extra,
  });
  return dataSource.initialize();
}

async function insertKey(
  dataSource: DataSource,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; hash: string }> {
  const hash = hashApiKey(generateApiKey({ prefix: 'sk' }));
  const id = randomUUID();
  await dataSource.getRepository(entity).insert({
    id,
    name: 'store spec',
    ownerId: 'owner-1',
    hint: 'sk_abcd',
    hash,
    scopes: ['orders:read', 'orders:*'],
    metadata: { plan: 'pro', limits: { rpm: 100 } },
    createdAt: new Date(),
    expiresAt: new Date('2100-01-02T03:04:05.678Z'),
    ...fields,
  } as never);
  return { id, hash };
}

describe(`TypeOrmApiKeyStore.findByHash on ${testDatabase()}`, () => {
  const queries = new QueryCounter();
  let dataSource: DataSource;
  let store: TypeOrmApiKeyStore;

  beforeAll(async () => {
    dataSource = await openDataSource(queries);
    store = new TypeOrmApiKeyStore(dataSource, entity, { coalesce: true });
  });

  afterAll(async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
  });

  it('reads the hot columns, typed as TypeORM types them, in one logged statement', async () => {
    const { id, hash } = await insertKey(dataSource);
    let row: Awaited<ReturnType<TypeOrmApiKeyStore['findByHash']>> = null;
    const statements = await queries.during(async () => (row = await store.findByHash(hash)));
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/^SELECT .*store_spec_keys.* WHERE .*hash.* (= \?|= ANY\(\$1\)|IN \(\?\))$/);
    // Only what the decision needs: no hint, no timestamps of the lifecycle. (`replacedById`
    // and `familyId` are read: they say where a rotation family's balance of credits is.)
    for (const column of ['hint', 'createdAt', 'lastUsedAt', 'revokedReason']) expect(row).not.toHaveProperty(column);
    expect(row).toHaveProperty('replacedById', null);
    expect(row).toMatchObject({
      id,
      name: 'store spec',
      ownerId: 'owner-1',
      scopes: ['orders:read', 'orders:*'],
      metadata: { plan: 'pro', limits: { rpm: 100 } },
      expiresAt: new Date('2100-01-02T03:04:05.678Z'),
      revokedAt: null,
      hash,
    });
  });

  it('answers null for an unknown hash, also in one statement', async () => {
    const statements = await queries.during(async () =>
      expect(await store.findByHash(hashApiKey('sk_unknown'))).toBeNull(),
    );
    expect(statements).toHaveLength(1);
  });

  it('serves a burst of concurrent lookups of one hash with one statement', async () => {
    const { id, hash } = await insertKey(dataSource);
    let rows: unknown[] = [];
    const statements = await queries.during(async () => {
      rows = await Promise.all(Array.from({ length: 25 }, () => store.findByHash(hash)));
    });
    expect(statements).toHaveLength(1);
    expect(rows).toHaveLength(25);
    for (const row of rows) expect(row).toMatchObject({ id, hash });
    // Each caller gets its own objects: one request changing its principal cannot touch another's.
    const [first, second] = rows as { scopes: string[]; metadata: object }[];
    expect(first.scopes).not.toBe(second.scopes);
    expect(first.metadata).not.toBe(second.metadata);
  });

  it('never reuses a finished lookup: a revocation shows on the very next one', async () => {
    const { id, hash } = await insertKey(dataSource);
    expect((await store.findByHash(hash))!.revokedAt).toBeNull();
    const revokedAt = new Date('2030-01-01T00:00:00.000Z');
    await dataSource.getRepository(entity).update({ id }, { revokedAt });
    const statements = await queries.during(async () =>
      expect((await store.findByHash(hash))!.revokedAt).toEqual(revokedAt),
    );
    expect(statements).toHaveLength(1);
  });

  it(`a burst of different keys: ${batched ? 'one batched statement' : 'one statement per hash'}, each row to its own caller`, async () => {
    const keys = await Promise.all([insertKey(dataSource), insertKey(dataSource), insertKey(dataSource)]);
    let rows: unknown[] = [];
    const statements = await queries.during(async () => {
      rows = await Promise.all(
        [...keys, ...keys, { hash: hashApiKey('sk_unknown') }].map((k) => store.findByHash(k.hash)),
      );
    });
    expect(statements).toHaveLength(batched ? 1 : 3 + 1);
    expect(rows.map((row) => (row as { id?: string } | null)?.id ?? null)).toEqual(
      [...keys, ...keys].map((k): string | null => k.id).concat([null]),
    );
  });

  it('fails closed with ApiKeyStoreUnavailableError, logs the failure, and recovers after a reconnect', async () => {
    const { hash } = await insertKey(dataSource);
    expect(await store.findByHash(hash)).not.toBeNull();
    await dataSource.destroy();
    const burst = Array.from({ length: 3 }, () => store.findByHash(hash));
    for (const lookup of burst) await expect(lookup).rejects.toBeInstanceOf(ApiKeyStoreUnavailableError);
    // The prepared statement belonged to the old connection(s): it is prepared again on the new ones.
    await dataSource.initialize();
    const again = await insertKey(dataSource);
    const statements = await queries.during(async () =>
      expect(await store.findByHash(again.hash)).toMatchObject({ id: again.id }),
    );
    expect(statements).toHaveLength(1);
  });
});

describe(`TypeOrmApiKeyStore with query subscribers on ${testDatabase()}`, () => {
  it('goes through DataSource.query, so beforeQuery/afterQuery subscribers see the lookup', async () => {
    const seen: string[] = [];
    @EventSubscriber()
    class Spy implements EntitySubscriberInterface {
      afterQuery(event: { query: string }): void {
        seen.push(event.query);
      }
    }
    const queries = new QueryCounter();
    const dataSource = await openDataSource(queries, { subscribers: [Spy] });
    try {
      const { id, hash } = await insertKey(dataSource);
      const store = new TypeOrmApiKeyStore(dataSource, entity);
      seen.length = 0;
      const statements = await queries.during(async () =>
        expect(await store.findByHash(hash)).toMatchObject({ id, hash }),
      );
      expect(statements).toHaveLength(1);
      expect(seen).toEqual(statements);
    } finally {
      await dataSource.destroy();
    }
  });
});

describe.each([true, false])(`the batchLookups option on ${testDatabase()}: %s`, (batchLookups) => {
  it(`${batchLookups ? 'sends a burst of different keys as one statement' : 'runs one statement per verification'}, each row to its own caller`, async () => {
    const t = await createTestApp({ options: { batchLookups } });
    try {
      const issued = await Promise.all(['a', 'b', 'c'].map((name) => t.service.issue({ name, scopes: ['a:b'] })));
      let results: Awaited<ReturnType<typeof t.service.verify>>[] = [];
      const burst = await t.queries.during(async () => {
        results = await Promise.all([...issued, ...issued].map(({ key }) => t.service.verify(key)));
      });
      expect(burst).toHaveLength(batchLookups ? 1 : 6);
      expect(results.map((r) => (r.valid ? r.principal.id : null))).toEqual(
        [...issued, ...issued].map(({ record }) => record.id),
      );
      // A change committed before the next burst is seen by every lookup in it.
      await t.service.revoke(issued[0].record.id);
      const after = await Promise.all(issued.map(({ key }) => t.service.verify(key)));
      expect(after.map((r) => r.valid)).toEqual([false, true, true]);
    } finally {
      await t.close();
    }
  });
});

describe(`verification bursts through ApiKeyService.verify on ${testDatabase()}`, () => {
  it(`by default ${batched ? 'sends a burst as one batch, after every lookup in it was asked for' : 'runs one statement per verification'}, so each sees the row as it is now`, async () => {
    const t = await createTestApp();
    try {
      const { key } = await t.service.issue({ name: 'strict', scopes: ['a:b'] });
      const burst = await t.queries.during(() => Promise.all(Array.from({ length: 10 }, () => t.service.verify(key))));
      expect(burst).toHaveLength(batched ? 1 : 10);
    } finally {
      await t.close();
    }
  });

  it('with coalesceLookups costs one statement for N concurrent verifications of one key, and one more for the next', async () => {
    const t = await createTestApp({ options: { coalesceLookups: true } });
    try {
      const { key, record } = await t.service.issue({ name: 'burst', scopes: ['a:b'] });
      const burst = await t.queries.during(async () => {
        const results = await Promise.all(Array.from({ length: 40 }, () => t.service.verify(key)));
        for (const result of results) expect(result).toMatchObject({ valid: true, principal: { id: record.id } });
      });
      expect(burst).toHaveLength(1);
      const next = await t.queries.during(() => t.service.verify(key));
      expect(next).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
