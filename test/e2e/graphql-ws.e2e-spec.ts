import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Field, GraphQLModule, ID, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import { createClient, type Client } from 'graphql-ws';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ApiKeyGuard, ApiKeyModule, ApiKeyService, CurrentApiKey, Scopes } from 'nestjs-opaque-keys';
import { testTypeOrmModule } from '../support/test-app.js';

@ObjectType()
class Order {
  @Field(() => ID)
  id!: string;
}

@Resolver(() => Order)
@UseGuards(ApiKeyGuard)
class OrdersResolver {
  @Query(() => [Order])
  @Scopes('orders:read')
  orders(@CurrentApiKey('id') id: string): Order[] {
    return [{ id }];
  }
}

/**
 * GraphQL over WebSocket (graphql-ws): every operation of a connection runs
 * the guard with the same upgrade request. Each must be judged on the key's
 * state at its own time.
 */
describe('ApiKeyGuard on GraphQL over WebSocket: one upgrade request, many operations', () => {
  let app: INestApplication;
  let service: ApiKeyService;
  let url: string;
  const clients: Client[] = [];

  function connect(key: string, headers: Record<string, string> = {}): Client {
    class KeyedWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers: { authorization: `Bearer ${key}`, ...headers } });
      }
    }
    const client = createClient({ url, webSocketImpl: KeyedWebSocket, lazy: false, retryAttempts: 0 });
    clients.push(client);
    return client;
  }

  function run(client: Client, query: string): Promise<{ data?: unknown; errors?: readonly { message: string }[] }> {
    return new Promise((resolve, reject) => {
      let result: { data?: unknown; errors?: readonly { message: string }[] } = {};
      client.subscribe(
        { query },
        {
          next: (value) => (result = value as typeof result),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
          complete: () => resolve(result),
        },
      );
    });
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        testTypeOrmModule(),
        ApiKeyModule.forRoot({}),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          subscriptions: { 'graphql-ws': true },
          // Over HTTP Apollo passes { req, res }; over graphql-ws the context carries the upgrade request.
          context: (ctx: { req?: unknown; res?: unknown; extra?: { request: unknown } }) =>
            ctx.extra ? { req: ctx.extra.request } : { req: ctx.req, res: ctx.res },
        }),
      ],
      providers: [OrdersResolver],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/graphql`;
    service = app.get(ApiKeyService);
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await app?.close();
  });

  it('refuses the next operation on the same connection once the key is revoked', async () => {
    const { key, record } = await service.issue({ name: 'ws', scopes: ['orders:read'] });
    const client = connect(key);
    expect(await run(client, '{ orders { id } }')).toEqual({ data: { orders: [{ id: record.id }] } });
    await service.revoke(record.id, 'test');
    const after = await run(client, '{ orders { id } }');
    expect(after.errors?.[0]?.message).toBe('Invalid API key');
    expect(after.data ?? null).toBeNull();
  });

  it("checks a key's IP allowlist against the upgrade request's peer address, never X-Forwarded-For", async () => {
    const local = await service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    expect(await run(connect(local.key), '{ orders { id } }')).toEqual({ data: { orders: [{ id: local.record.id }] } });
    const claimed = await run(connect(office.key, { 'x-forwarded-for': '203.0.113.7' }), '{ orders { id } }');
    expect(claimed.errors?.[0]?.message).toBe('This API key may not be used from this address');
    expect(claimed.data ?? null).toBeNull();
  });

  it('refuses the next operation once the scope it needs is removed', async () => {
    const { key, record } = await service.issue({ name: 'ws', scopes: ['orders:read'] });
    const client = connect(key);
    expect(await run(client, '{ orders { id } }')).toEqual({ data: { orders: [{ id: record.id }] } });
    await service.updateScopes(record.id, ['other']);
    const after = await run(client, '{ orders { id } }');
    expect(after.errors?.[0]?.message).toBe('Insufficient scope');
  });
});

/**
 * A host that builds the GraphQL request from graphql-ws `connectionParams`
 * (browsers cannot set headers on a WebSocket): a plain object the client
 * wrote, so it has no peer address the guard can trust. Keys with an
 * allowlist are refused there, whatever address the client claims in it.
 */
describe('ApiKeyGuard on GraphQL over WebSocket, the request built from connectionParams', () => {
  let app: INestApplication;
  let service: ApiKeyService;
  let url: string;
  const clients: Client[] = [];

  function run(
    connectionParams: Record<string, unknown>,
  ): Promise<{ data?: unknown; errors?: readonly { message: string }[] }> {
    const client = createClient({ url, webSocketImpl: WebSocket, connectionParams, lazy: false, retryAttempts: 0 });
    clients.push(client);
    return new Promise((resolve, reject) => {
      let result: { data?: unknown; errors?: readonly { message: string }[] } = {};
      client.subscribe(
        { query: '{ orders { id } }' },
        {
          next: (value) => (result = value as typeof result),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
          complete: () => resolve(result),
        },
      );
    });
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        testTypeOrmModule(),
        ApiKeyModule.forRoot({}),
        GraphQLModule.forRoot<ApolloDriverConfig>({
          driver: ApolloDriver,
          autoSchemaFile: true,
          subscriptions: { 'graphql-ws': true },
          context: (ctx: { req?: unknown; res?: unknown; connectionParams?: Record<string, unknown> }) =>
            ctx.connectionParams
              ? { req: { ...ctx.connectionParams, headers: ctx.connectionParams } }
              : { req: ctx.req, res: ctx.res },
        }),
      ],
      providers: [OrdersResolver],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/graphql`;
    service = app.get(ApiKeyService);
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await app?.close();
  });

  it('refuses a key with an allowlist whatever address the client writes, and admits keys without one', async () => {
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    const claimed = await run({
      authorization: `Bearer ${office.key}`,
      ip: '203.0.113.7',
      socket: { remoteAddress: '203.0.113.7' },
      raw: { ip: '203.0.113.7' },
    });
    expect(claimed.errors?.[0]?.message).toBe('This API key may not be used from this address');
    const plain = await service.issue({ name: 'plain', scopes: ['orders:read'] });
    expect(await run({ authorization: `Bearer ${plain.key}` })).toEqual({
      data: { orders: [{ id: plain.record.id }] },
    });
  });
});
