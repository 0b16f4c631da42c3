import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { metrics, trace } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { API_KEY_TELEMETRY, generateApiKey, hashApiKey } from 'nestjs-opaque-keys';
import { OrdersController } from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * OpenTelemetry: with the SDK's in-memory exporters registered, verification
 * reports a counter by outcome and transport, a duration histogram, a counter
 * of store failures, and a span with the outcome and key id; no attribute
 * anywhere holds a key, a hash or an owner id, and no metric a key id.
 */

const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });
const spanExporter = new InMemorySpanExporter();

beforeAll(() => {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] }));
});
afterAll(() => {
  metrics.disable();
  trace.disable();
});

async function exported() {
  await reader.forceFlush();
  const resource = metricExporter.getMetrics().at(-1)!;
  return new Map(resource.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]));
}

describe('OpenTelemetry metrics and spans', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('reports verifications, durations, store failures and spans, with no secret and no per-key metric attribute', async () => {
    t = await createTestApp({ controllers: [OrdersController] });
    const server = t.app.getHttpServer();
    const key = await t.service.issue({ name: 'k', ownerId: 'owner-secret-id', scopes: ['orders:read'] });
    const forged = generateApiKey({ prefix: 'sk' });
    await request(server).get('/orders').set('X-API-Key', key.key).expect(200);
    await request(server).get('/orders').set('X-API-Key', key.key).expect(200);
    await request(server).post('/orders').set('X-API-Key', key.key).expect(403);
    await request(server).get('/orders').set('X-API-Key', forged).expect(401);

    const byName = await exported();
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
});
