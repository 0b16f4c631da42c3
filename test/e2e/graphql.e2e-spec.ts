import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Args, Field, GraphQLModule, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { ApiKeyGuard, ApiKeyModule, ApiKeyService, CurrentApiKey, Public, Scopes } from 'nestjs-opaque-keys';
import { testTypeOrmModule } from '../support/test-app.js';

@ObjectType()
class Order {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  ownerId!: string | null;
}

/** A code-first resolver guarded like a controller: class-level guard, per-field scopes. */
@Resolver(() => Order)
@UseGuards(ApiKeyGuard)
class OrdersResolver {
  @Query(() => [Order])
  @Scopes('orders:read')
  orders(@CurrentApiKey('ownerId') ownerId: string | null): Order[] {
    return [{ id: '1', ownerId }];
  }

  @Mutation(() => Order)
  @Scopes('orders:write')
  createOrder(@Args('id') id: string): Order {
    return { id, ownerId: null };
  }

  @Query(() => String)
  @Public()
  health(): string {
    return 'ok';
  }
}

describe('ApiKeyGuard on GraphQL resolvers (Apollo, code first)', () => {
  let app: INestApplication;
  let reader: string;
  const gql = (query: string, key?: string) => {
    const req = request(app.getHttpServer()).post('/graphql').send({ query });
    return key ? req.set('Authorization', `Bearer ${key}`) : req;
  };

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        testTypeOrmModule(),
        ApiKeyModule.forRoot({}),
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true }),
      ],
      providers: [OrdersResolver],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    reader = (await app.get(ApiKeyService).issue({ name: 'gql', ownerId: 'acme', scopes: ['orders:read'] })).key;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('resolves with the right key and hands the principal to the resolver', async () => {
    const res = await gql('{ orders { id ownerId } }', reader).expect(200);
    expect(res.body).toEqual({ data: { orders: [{ id: '1', ownerId: 'acme' }] } });
  });

  it('answers no key with an UNAUTHENTICATED error carrying the 401 and the bare challenge', async () => {
    const res = await gql('{ orders { id } }');
    expect(res.body.data).toBeNull();
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({
      message: 'API key required',
      extensions: { code: 'UNAUTHENTICATED', originalError: { statusCode: 401 } },
    });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('answers an invalid key with the same 401 semantics and invalid_token', async () => {
    const res = await gql('{ orders { id } }', 'sk_not-a-key');
    expect(res.body.errors[0]).toMatchObject({ message: 'Invalid API key', extensions: { code: 'UNAUTHENTICATED' } });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api", error="invalid_token"');
  });

  it('answers a missing scope with a FORBIDDEN error carrying the 403 and insufficient_scope', async () => {
    const res = await gql('mutation { createOrder(id: "2") { id } }', reader);
    expect(res.body.errors[0]).toMatchObject({
      message: 'Insufficient scope',
      extensions: { code: 'FORBIDDEN', originalError: { statusCode: 403 } },
    });
    expect(res.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="orders:write"',
    );
  });

  it("checks a key's IP allowlist against the adapter's req.ip (no proxy trusted): X-Forwarded-For does not count", async () => {
    const service = app.get(ApiKeyService);
    const local = await service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    const fromHere = await gql('{ orders { id } }', local.key).set('X-Forwarded-For', '198.51.100.1').expect(200);
    expect(fromHere.body).toEqual({ data: { orders: [{ id: '1' }] } });
    const claimed = await gql('{ orders { id } }', office.key).set('X-Forwarded-For', '203.0.113.7');
    expect(claimed.body.data).toBeNull();
    expect(claimed.body.errors[0]).toMatchObject({
      message: 'This API key may not be used from this address',
      extensions: { code: 'FORBIDDEN', originalError: { statusCode: 403 } },
    });
  });

  it('lets @Public() fields through without a key', async () => {
    await gql('{ health }').expect(200, { data: { health: 'ok' } });
  });
});
