import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Req, UseGuards, type INestApplication } from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import { Strategy } from 'passport-custom';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  ApiKeyGuard,
  ApiKeyModule,
  ApiKeyService,
  CurrentApiKey,
  generateApiKey,
  OptionalApiKey,
  Scopes,
  type ApiKeyPrincipal,
  type RateLimitStorage,
} from 'nestjs-opaque-keys';
import { ApiKeyStrategy } from 'nestjs-opaque-keys/passport';
import { testTypeOrmModule } from '../support/test-app.js';
import { createPlatformApp, httpPlatform } from '../support/http-platform.js';
import { LogCapture } from '../support/log-capture.js';

/** The host's JWT strategy (no passport-jwt here): `Authorization: Bearer <jwt>`, verified by @nestjs/jwt. */
@Injectable()
class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly jwt: JwtService) {
    super();
  }

  async validate(req: { headers: Record<string, string | undefined> }): Promise<unknown> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return false;
    try {
      const claims = await this.jwt.verifyAsync<{ sub: string }>(token);
      return { kind: 'user', id: claims.sub };
    } catch {
      return false;
    }
  }
}

/** A fixed-window counter in memory (one process), standing in for @nestjs/throttler's storage. */
const hits = new Map<string, number>();
const rateLimitStorage: RateLimitStorage = {
  async increment(key, ttl, limit) {
    const totalHits = (hits.get(key) ?? 0) + 1;
    hits.set(key, totalHits);
    return { totalHits, timeToExpire: Math.ceil(ttl / 1000), isBlocked: totalHits > limit, timeToBlockExpire: 1 };
  },
};

/** The host mapping: a key's owner becomes a service user. */
@Injectable()
class ServiceKeyStrategy extends ApiKeyStrategy {
  protected override toUser(key: ApiKeyPrincipal) {
    return { kind: 'service', id: key.ownerId, keyId: key.id };
  }
}

@Controller('reports')
class ReportsController {
  /** Either credential; the strategy checks the key only. */
  @Get()
  @UseGuards(AuthGuard(['jwt', 'api-key']))
  list(@Req() req: { user: unknown }) {
    return { user: req.user };
  }

  /** Scopes enforced: ApiKeyGuard first, in optional mode, then Passport takes its principal. */
  @Get('scoped')
  @OptionalApiKey()
  @Scopes('reports:read')
  @UseGuards(ApiKeyGuard, AuthGuard(['jwt', 'api-key']))
  scoped(@Req() req: { user: unknown }, @CurrentApiKey() key: ApiKeyPrincipal | undefined) {
    return { user: req.user, keyId: key?.id ?? null };
  }
}

describe('Passport: AuthGuard([jwt, api-key]) on the api-key strategy', () => {
  let app: INestApplication;
  let service: ApiKeyService;
  let jwt: JwtService;
  const logs = new LogCapture();
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        testTypeOrmModule(),
        ApiKeyModule.forRoot({ rateLimitStorage }),
        JwtModule.register({ secret: 'test-secret-not-for-production', signOptions: { expiresIn: '5m' } }),
      ],
      controllers: [ReportsController],
      providers: [JwtStrategy, ServiceKeyStrategy],
    }).compile();
    app = await createPlatformApp(moduleRef, { logger: logs });
    service = app.get(ApiKeyService);
    jwt = app.get(JwtService);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('admits an API key, with request.user from the host mapping', async () => {
    const { key, record } = await service.issue({ name: 'svc', scopes: [], ownerId: 'billing' });
    for (const [name, value] of [
      ['Authorization', `Bearer ${key}`],
      ['X-API-Key', key],
    ]) {
      const res = await http().get('/reports').set(name, value).expect(200);
      expect(res.body).toEqual({ user: { kind: 'service', id: 'billing', keyId: record.id } });
    }
  });

  it('admits a JWT on the same route', async () => {
    const token = await jwt.signAsync({ sub: 'user-1' });
    const res = await http().get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
    expect(res.body).toEqual({ user: { kind: 'user', id: 'user-1' } });
  });

  it('refuses no credential, a bad JWT, and unknown, malformed and revoked keys (every strategy failed: 401)', async () => {
    const revoked = await service.issue({ name: 'gone', scopes: [] });
    await service.revoke(revoked.record.id);
    await http().get('/reports').expect(401);
    for (const bad of ['eyJhbGciOiJIUzI1NiJ9.e30.bad', generateApiKey({ prefix: 'sk' }), 'sk_not-a-key', revoked.key]) {
      const res = await http().get('/reports').set('Authorization', `Bearer ${bad}`).expect(401);
      expect(res.body).toEqual({ statusCode: 401, message: 'Unauthorized' });
    }
    expect(logs.lines.join('\n')).not.toContain(revoked.key);
  });

  it("checks a key's IP allowlist against the adapter's req.ip (no proxy trusted): X-Forwarded-For does not count", async () => {
    const local = await service.issue({ name: 'local', scopes: [], ownerId: 'lab', allowedIps: ['127.0.0.1', '::1'] });
    const res = await http()
      .get('/reports')
      .set('X-API-Key', local.key)
      .set('X-Forwarded-For', '198.51.100.1')
      .expect(200);
    expect(res.body).toEqual({ user: { kind: 'service', id: 'lab', keyId: local.record.id } });
    const office = await service.issue({ name: 'office', scopes: [], allowedIps: ['203.0.113.7'] });
    const refused = await http()
      .get('/reports')
      .set('X-API-Key', office.key)
      .set('X-Forwarded-For', '203.0.113.7')
      .expect(401);
    expect(refused.body).toEqual({ statusCode: 401, message: 'Unauthorized' });
  });

  it('spends a use of a key with a use limit: an exhausted key fails the strategy', async () => {
    const { key } = await service.issue({ name: 'once', scopes: [], maxUses: 1 });
    await http().get('/reports').set('X-API-Key', key).expect(200);
    await http().get('/reports').set('X-API-Key', key).expect(401);
  });

  it("counts a key's rate limit: over it is 429, not a fall-through to the JWT strategy", async () => {
    const { key } = await service.issue({ name: 'limited', scopes: [], rateLimit: { limit: 1, windowMs: 60_000 } });
    await http().get('/reports').set('X-API-Key', key).expect(200);
    await http().get('/reports').set('X-API-Key', key).expect(429);
  });

  it('enforces @Scopes() with ApiKeyGuard first (optional mode)', async () => {
    const reader = await service.issue({ name: 'reader', scopes: ['reports:read'], ownerId: 'acme' });
    const res = await http().get('/reports/scoped').set('X-API-Key', reader.key).expect(200);
    expect(res.body).toEqual({
      user: { kind: 'service', id: 'acme', keyId: reader.record.id },
      keyId: reader.record.id,
    });
    const other = await service.issue({ name: 'other', scopes: ['orders:read'] });
    await http().get('/reports/scoped').set('X-API-Key', other.key).expect(403);
    await http()
      .get('/reports/scoped')
      .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
      .expect(401);
    const token = await jwt.signAsync({ sub: 'user-2' });
    const viaJwt = await http().get('/reports/scoped').set('Authorization', `Bearer ${token}`).expect(200);
    expect(viaJwt.body).toEqual({ user: { kind: 'user', id: 'user-2' }, keyId: null });
  });

  it('answers 503 on a store outage, never a pass to the next strategy', async () => {
    const { key } = await service.issue({ name: 'svc', scopes: [] });
    await app.get(DataSource).destroy();
    const res = await http().get('/reports').set('X-API-Key', key);
    expect(res.status).toBe(503);
    expect(res.body.message).toBe('Authentication is temporarily unavailable');
    // Passport hands the strategy the request only: Retry-After is set where it links to its response (Express).
    if (httpPlatform() === 'express') expect(res.headers['retry-after']).toBeDefined();
  });
});
