import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  ApiKeyGuard,
  ApiKeyModule,
  ApiKeyService,
  apiKeyPrincipalOf,
  CurrentApiKey,
  generateApiKey,
  OptionalApiKey,
  Scopes,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';
import type { INestApplication } from '@nestjs/common';
import { OrdersController } from '../support/controllers.js';
import { createPlatformApp } from '../support/http-platform.js';
import { createTestApp, type TestApp, testTypeOrmModule } from '../support/test-app.js';

/** The host's JWT guard, placed after ApiKeyGuard: a verified key is enough, else a valid JWT is required. */
@Injectable()
class JwtOrApiKeyGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (apiKeyPrincipalOf(context)) return true;
    const req = context.switchToHttp().getRequest();
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new UnauthorizedException('API key or token required');
    try {
      req.user = await this.jwt.verifyAsync(token);
      return true;
    } catch {
      throw new UnauthorizedException('Invalid token');
    }
  }
}

@Controller('reports')
@OptionalApiKey()
@UseGuards(ApiKeyGuard, JwtOrApiKeyGuard)
class ReportsController {
  @Get()
  @Scopes('reports:read')
  list(@CurrentApiKey() key: ApiKeyPrincipal | undefined) {
    return key ? { via: 'key', id: key.id } : { via: 'jwt' };
  }

  @Get('strict')
  @OptionalApiKey(false)
  strict() {
    return { ok: true };
  }
}

describe('Optional API key: a route that takes either a JWT or an API key', () => {
  let app: INestApplication;
  let service: ApiKeyService;
  let jwt: JwtService;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        testTypeOrmModule(),
        ApiKeyModule.forRoot({}),
        JwtModule.register({ secret: 'test-secret-not-for-production', signOptions: { expiresIn: '5m' } }),
      ],
      controllers: [ReportsController],
      providers: [JwtOrApiKeyGuard],
    }).compile();
    app = await createPlatformApp(moduleRef, { logger: false });
    service = app.get(ApiKeyService);
    jwt = app.get(JwtService);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('admits an API key (the JWT guard sees its principal)', async () => {
    const { key, record } = await service.issue({ name: 'svc', scopes: ['reports:read'] });
    await http().get('/reports').set('X-API-Key', key).expect(200, { via: 'key', id: record.id });
    await http().get('/reports').set('Authorization', `Bearer ${key}`).expect(200, { via: 'key', id: record.id });
  });

  it('passes a request without a key on to the JWT guard, which admits a valid JWT', async () => {
    const token = await jwt.signAsync({ sub: 'user-1' });
    await http().get('/reports').set('Authorization', `Bearer ${token}`).expect(200, { via: 'jwt' });
  });

  it('refuses neither (the next guard answers), a bad JWT, and a bad key with the identical 401', async () => {
    const none = await http().get('/reports').expect(401);
    expect(none.body.message).toBe('API key or token required');
    const badJwt = await http().get('/reports').set('Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.bad').expect(401);
    expect(badJwt.body.message).toBe('Invalid token');
    // A key of ours that is not valid is still the library's 401, whatever the next guard would say.
    for (const bad of [generateApiKey({ prefix: 'sk' }), 'sk_not-a-key']) {
      const res = await http().get('/reports').set('Authorization', `Bearer ${bad}`).expect(401);
      expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
    }
    const { key, record } = await service.issue({ name: 'revoked', scopes: ['reports:read'] });
    await service.revoke(record.id, 'test');
    await http().get('/reports').set('X-API-Key', key).expect(401);
  });

  it('still checks the scopes of a key that is sent', async () => {
    const { key } = await service.issue({ name: 'other', scopes: ['orders:read'] });
    await http().get('/reports').set('X-API-Key', key).expect(403);
  });

  it('@OptionalApiKey(false) makes a route strict again', async () => {
    const token = await jwt.signAsync({ sub: 'user-1' });
    const res = await http().get('/reports/strict').set('Authorization', `Bearer ${token}`).expect(401);
    expect(res.body.message).toBe('Invalid API key');
    await http().get('/reports/strict').expect(401, {
      statusCode: 401,
      message: 'API key required',
      error: 'Unauthorized',
    });
  });
});

describe("The module's optional: true", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ controllers: [OrdersController], options: { optional: true } });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('passes every guarded route without a key, and still refuses a bad key with the identical 401', async () => {
    await request(t.app.getHttpServer()).get('/orders/owner').expect(200, {});
    const res = await request(t.app.getHttpServer())
      .get('/orders/owner')
      .set('X-API-Key', generateApiKey({ prefix: 'sk' }))
      .expect(401);
    expect(res.body).toEqual({ statusCode: 401, message: 'Invalid API key', error: 'Unauthorized' });
  });
});
