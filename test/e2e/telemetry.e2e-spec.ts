import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { ApiKeyVerifier, generateApiKey, hashApiKey, type IssuedApiKey } from 'nestjs-opaque-keys';
import { API_KEY_TELEMETRY, withTelemetry } from 'nestjs-opaque-keys/telemetry';
import { OrdersController } from '../support/controllers.js';
import { testDatabase } from '../support/database.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * OpenTelemetry: with the SDK's in-memory exporters registered, verification
 * reports a counter by outcome and transport, a duration histogram, a counter
 * of store failures, and a span with the outcome and key id; no attribute
 * anywhere holds a key, a hash or an owner id, and no metric a key id.
 * With the cache or batching on, the lookup counts are reported too.
 */

let metricExporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let meterProvider: MeterProvider | undefined;
const spanExporter = new InMemorySpanExporter();

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }));
});
// Each test gets its own meter provider (the app it starts creates its instruments on it), so counts start at 0.
beforeEach(() => {
  metrics.disable();
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
  meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
});
afterEach(async () => {
  await meterProvider?.shutdown();
  meterProvider = undefined;
});
afterAll(() => {
  metrics.disable();
  trace.disable();
});

/** One collection: the metrics by name. */
async function exported() {
  await reader.forceFlush();
  const resource = metricExporter.getMetrics().at(-1)!;
  return new Map(resource.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]));
}
type Exported = Awaited<ReturnType<typeof exported>>;

/** A metric's points as [attributes, value]. */
function points(byName: Exported, name: string) {
  return byName.get(name)?.dataPoints.map((p) => [p.attributes, p.value]);
}

/** The batch size histogram: how many batches, how many keys in all, and the smallest and largest. */
function batchSizes(byName: Exported) {
  const data = byName.get(API_KEY_TELEMETRY.batchSize)?.dataPoints;
  if (!data) return undefined;
  expect(data).toHaveLength(1);
  const { count, sum, min, max } = data[0].value as { count: number; sum: number; min: number; max: number };
  return { attributes: data[0].attributes, count, sum, min, max };
}

/** Every metric attribute and span attribute, as one string to search. */
function allAttributes(byName: Exported): string {
  return JSON.stringify([
    [...byName.values()].map((m) => m.dataPoints.map((p) => p.attributes)),
    spanExporter.getFinishedSpans().map((s) => s.attributes),
  ]);
}

function expectNoSecrets(byName: Exported, keys: IssuedApiKey[]): void {
  const metricAttributes = JSON.stringify([...byName.values()].map((m) => m.dataPoints.map((p) => p.attributes)));
  for (const key of keys) {
    for (const secret of [key.key, hashApiKey(key.key)]) expect(allAttributes(byName)).not.toContain(secret);
    expect(metricAttributes).not.toContain(key.record.id);
    if (key.record.ownerId) expect(metricAttributes).not.toContain(key.record.ownerId);
  }
}

/** The database batches lookups by default (PostgreSQL, MariaDB), not on SQLite. */
const batchesByDefault = testDatabase() !== 'sqlite';

describe('OpenTelemetry metrics and spans', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('reports verifications, durations, store failures and spans, with no secret and no per-key metric attribute', async () => {
    t = await createTestApp({ controllers: [OrdersController], extras: { features: [withTelemetry()] } });
    const server = t.app.getHttpServer();
    const key = await t.service.issue({ name: 'k', ownerId: 'owner-secret-id', scopes: ['orders:read'] });
    const forged = generateApiKey({ prefix: 'sk' });
    await request(server).get('/orders').set('X-API-Key', key.key).expect(200);
    await request(server).get('/orders').set('X-API-Key', key.key).expect(200);
    await request(server).post('/orders').set('X-API-Key', key.key).expect(403);
    await request(server).get('/orders').set('X-API-Key', forged).expect(401);

    const byName = await exported();
    // No cache: no cache instruments. Batching (the default on PostgreSQL and MariaDB): four lookups, one at a time.
    expect(byName.has(API_KEY_TELEMETRY.cacheLookups)).toBe(false);
    expect(byName.has(API_KEY_TELEMETRY.cacheHitRatio)).toBe(false);
    expect(batchSizes(byName)).toEqual(
      batchesByDefault ? { attributes: {}, count: 4, sum: 4, min: 1, max: 1 } : undefined,
    );
    const verifications = byName.get(API_KEY_TELEMETRY.verifications)!;
    const points = verifications.dataPoints.map((p) => [p.attributes, p.value]);
    expect(points).toEqual(
      expect.arrayContaining([
        [{ outcome: 'verified', transport: 'http' }, 2],
        [{ outcome: 'forbidden', transport: 'http' }, 1],
        [{ outcome: 'invalid', transport: 'http' }, 1],
      ]),
    );
    const duration = byName.get(API_KEY_TELEMETRY.duration)!;
    expect(duration.descriptor.unit).toBe('s');
    expect(duration.dataPoints.length).toBeGreaterThan(0);

    const spans = spanExporter.getFinishedSpans().filter((s) => s.name === API_KEY_TELEMETRY.span);
    expect(spans).toHaveLength(4);
    expect(spans.map((s) => s.attributes['api_key.outcome'])).toEqual(['verified', 'verified', 'forbidden', 'invalid']);
    expect(spans[0].attributes['api_key.id']).toBe(key.record.id);
    expect(spans[3].attributes['api_key.id']).toBeUndefined();

    // The database goes away: a 503, counted as a store failure.
    await t.dataSource.destroy();
    await request(server).get('/orders').set('X-API-Key', key.key).expect(503);
    const after = await exported();
    expect(after.get(API_KEY_TELEMETRY.storeFailures)!.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ transport: 'http' }, 1],
    ]);

    const everything = JSON.stringify([
      [...after.values()].map((m) => m.dataPoints.map((p) => p.attributes)),
      spanExporter.getFinishedSpans().map((s) => s.attributes),
    ]);
    for (const secret of [key.key, hashApiKey(key.key), forged, hashApiKey(forged), 'owner-secret-id'])
      expect(everything).not.toContain(secret);
    const metricAttributes = JSON.stringify([...after.values()].map((m) => m.dataPoints.map((p) => p.attributes)));
    expect(metricAttributes).not.toContain(key.record.id);
  });

  it('with the cache on: cache lookups by result and the hit ratio since the previous collection', async () => {
    t = await createTestApp({
      controllers: [OrdersController],
      options: { cache: { invalidation: 'local' } },
      extras: { features: [withTelemetry()] },
    });
    const server = t.app.getHttpServer();
    const key = await t.service.issue({ name: 'k', ownerId: 'owner-secret-id', scopes: ['orders:read'] });
    const forged = generateApiKey({ prefix: 'sk' });
    for (let i = 0; i < 5; i++) await request(server).get('/orders').set('X-API-Key', key.key).expect(200);

    // The first request read the database, the next four were answered from memory.
    const first = await exported();
    expect(points(first, API_KEY_TELEMETRY.cacheLookups)).toEqual([
      [{ result: 'hit' }, 4],
      [{ result: 'miss' }, 1],
    ]);
    expect(points(first, API_KEY_TELEMETRY.cacheHitRatio)).toEqual([[{}, 4 / 5]]);
    expect(first.get(API_KEY_TELEMETRY.cacheHitRatio)!.descriptor.unit).toBe('1');
    // Only misses reach the database: one batch of one key where lookups are batched.
    expect(batchSizes(first)).toEqual(
      batchesByDefault ? { attributes: {}, count: 1, sum: 1, min: 1, max: 1 } : undefined,
    );

    // Three more hits and an unknown key (never cached: a miss every time): the ratio covers these four only.
    for (let i = 0; i < 3; i++) await request(server).get('/orders').set('X-API-Key', key.key).expect(200);
    await request(server).get('/orders').set('X-API-Key', forged).expect(401);
    const second = await exported();
    expect(points(second, API_KEY_TELEMETRY.cacheLookups)).toEqual([
      [{ result: 'hit' }, 7],
      [{ result: 'miss' }, 2],
    ]);
    expect(points(second, API_KEY_TELEMETRY.cacheHitRatio)).toEqual([[{}, 3 / 4]]);
    expectNoSecrets(second, [key]);
    expect(allAttributes(second)).not.toContain(hashApiKey(forged));
  });

  it.each([
    ['the unnamed setup', undefined, {}],
    ['a named setup', 'internal', { setup: 'internal' }],
  ])(
    'with batching, %s: a burst of K distinct keys in one tick is one batch of K, then the cache answers all K',
    async (_, name, setup) => {
      t = await createTestApp({
        options: { batchLookups: true, cache: { invalidation: 'local' } },
        extras: { features: [withTelemetry()], ...(name ? { name } : {}) },
      });
      const keys = await Promise.all(
        ['a', 'b', 'c', 'd', 'e'].map((n) => t!.service.issue({ name: n, ownerId: `owner-secret-${n}` })),
      );
      const verifier = t.app.get(ApiKeyVerifier);
      const verdicts: boolean[] = [];
      /** The lookup statements sent while the five keys and a repeat are verified, all asked for in one tick. */
      const burst = async () => {
        const statements = await t!.queries.during(async () => {
          for (const verdict of await Promise.all([...keys, keys[0]].map((key) => verifier.verify(key.key))))
            verdicts.push(verdict.valid);
        });
        return statements.filter((sql) => /^\s*SELECT/i.test(sql)).length;
      };

      // One statement for the five distinct keys.
      expect(await burst()).toBe(1);
      const first = await exported();
      expect(batchSizes(first)).toEqual({ attributes: setup, count: 1, sum: 5, min: 5, max: 5 });
      expect(first.get(API_KEY_TELEMETRY.batchSize)!.descriptor.unit).toBe('{key}');
      expect(points(first, API_KEY_TELEMETRY.cacheLookups)).toEqual([
        [{ ...setup, result: 'hit' }, 0],
        [{ ...setup, result: 'miss' }, 6],
      ]);
      expect(points(first, API_KEY_TELEMETRY.cacheHitRatio)).toEqual([[setup, 0]]);

      // The same burst again: every lookup a hit, no statement, no batch.
      expect(await burst()).toBe(0);
      expect(verdicts).toEqual(Array(12).fill(true));
      const second = await exported();
      expect(batchSizes(second)).toEqual({ attributes: setup, count: 1, sum: 5, min: 5, max: 5 });
      expect(points(second, API_KEY_TELEMETRY.cacheHitRatio)).toEqual([[setup, 1]]);
      expectNoSecrets(second, keys);
    },
  );
});
