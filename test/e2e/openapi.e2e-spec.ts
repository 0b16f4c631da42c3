import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { createSampleApp } from '../../sample-app/sample-app.js';
import { applyApiKeySecurity } from '../../lib/features/swagger/index.js';
import {
  GlobalController,
  OptionalKeyController,
  OrdersController,
  RefundsController,
} from '../support/controllers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const BOTH = (scopes: string[]) => [{ apiKeyBearer: scopes }, { apiKeyHeader: scopes }];

function documentOf(t: TestApp): OpenAPIObject {
  const config = new DocumentBuilder().setTitle('test').build();
  return SwaggerModule.createDocument(t.app, applyApiKeySecurity(t.app, config));
}

describe('OpenAPI: applyApiKeySecurity (nestjs-opaque-keys/swagger)', () => {
  let perRoute: TestApp;
  let global: TestApp;
  let doc: OpenAPIObject;

  beforeAll(async () => {
    perRoute = await createTestApp({ controllers: [OrdersController, RefundsController, OptionalKeyController] });
    global = await createTestApp({
      controllers: [GlobalController],
      extras: { globalGuard: true },
      options: { header: 'X-Acme-Key' },
    });
    doc = documentOf(perRoute);
  });

  afterAll(async () => {
    await perRoute?.close();
    await global?.close();
  });

  it('declares the http bearer and apiKey header schemes', () => {
    expect(doc.components?.securitySchemes).toEqual({
      apiKeyBearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyHeader: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
  });

  it('lists each guarded route with both schemes and its scopes, and 401/403 responses', () => {
    const list = doc.paths['/orders'].get!;
    expect(list.security).toEqual(BOTH(['orders:read']));
    expect(Object.keys(list.responses)).toEqual(expect.arrayContaining(['401', '403']));
    expect(list.responses['403']).toMatchObject({ description: expect.stringContaining('orders:read') });
    expect((list as unknown as Record<string, unknown>)['x-api-key-scopes']).toEqual({
      allOf: ['orders:read'],
      anyOf: [],
    });
    expect(doc.paths['/orders'].post!.security).toEqual(BOTH(['orders:read', 'orders:write']));
  });

  it('merges controller and handler scopes, and documents any-of requirements', () => {
    expect(doc.paths['/refunds'].post!.security).toEqual(BOTH(['billing', 'orders:refund']));
    const either = doc.paths['/orders/either'].get!;
    expect(either.security).toEqual(BOTH([]));
    expect((either as unknown as Record<string, unknown>)['x-api-key-scopes']).toEqual({
      allOf: [],
      anyOf: [['orders:read', 'orders:admin']],
    });
    expect(either.responses['403']).toMatchObject({
      description: expect.stringContaining('one of orders:read, orders:admin'),
    });
  });

  it('gives guarded routes without scopes a 401 but no 403', () => {
    const owner = doc.paths['/orders/owner'].get!;
    expect(owner.security).toEqual(BOTH([]));
    expect(owner.responses).toHaveProperty('401');
    expect(owner.responses).not.toHaveProperty('403');
  });

  it('documents an @OptionalApiKey() route with an empty alternative (no key passes this guard)', () => {
    expect(doc.paths['/maybe'].get!.security).toEqual([...BOTH(['reports:read']), {}]);
  });

  it('leaves @Public() routes without security', () => {
    const open = doc.paths['/orders/open'].get!;
    expect(open.security).toBeUndefined();
    expect(open.responses).not.toHaveProperty('401');
  });

  it('follows the global guard and the configured header, and marks routes once across documents', () => {
    const first = documentOf(global);
    const second = documentOf(global);
    expect(second.components?.securitySchemes?.apiKeyHeader).toMatchObject({ name: 'x-acme-key' });
    expect(second.paths['/global/private'].get!.security).toEqual(BOTH([]));
    expect(second.paths['/global/health'].get!.security).toBeUndefined();
    expect(second.paths).toEqual(first.paths);
  });

  it('keeps @nestjs/swagger out of the main entry point (an optional peer dependency)', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'swagger') walk(path);
        } else if (path.endsWith('.ts') && /from '@nestjs\/swagger/.test(readFileSync(path, 'utf8')))
          offenders.push(path);
      }
    };
    walk('lib');
    expect(offenders).toEqual([]);
    expect(readFileSync('lib/index.ts', 'utf8')).not.toContain('swagger');
  });

  it('serves Swagger UI at /docs in the sample app, with scopes on its guarded routes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nestjs-opaque-keys-openapi-'));
    const previous = process.env.DATABASE_PATH;
    process.env.DATABASE_PATH = join(dir, 'sample.sqlite');
    const app = await createSampleApp({ logger: false });
    try {
      await request(app.getHttpServer()).get('/docs').expect(200).expect('content-type', /html/);
      const sample: OpenAPIObject = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body;
      expect(Object.keys(sample.components?.securitySchemes ?? {})).toEqual(['apiKeyBearer', 'apiKeyHeader']);
      const scoped = Object.values(sample.paths)
        .flatMap((item) => Object.values(item))
        .filter((op: any) => op?.security);
      expect(scoped.length).toBeGreaterThan(3);
      expect(JSON.stringify(scoped.map((op: any) => op.security))).toContain('orders:read');
      expect(sample.paths['/health']?.get?.security).toBeUndefined();
    } finally {
      await app.close();
      process.env.DATABASE_PATH = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
