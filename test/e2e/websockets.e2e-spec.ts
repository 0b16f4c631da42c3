import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, UseGuards, type ExecutionContext, type INestApplication, type Type } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { ApiKeyModule, ApiKeyService, CurrentApiKey, Public, Scopes } from 'nestjs-opaque-keys';
import { rememberHandshake, WsApiKeyGuard } from 'nestjs-opaque-keys/websockets';
import { testTypeOrmModule } from '../support/test-app.js';
import { LogCapture } from '../support/log-capture.js';

/** A socket.io gateway: the key from the handshake's `auth` payload or headers. */
@UseGuards(WsApiKeyGuard)
@WebSocketGateway()
class SocketIoOrdersGateway {
  @Scopes('orders:read')
  @SubscribeMessage('orders')
  orders(@CurrentApiKey('id') id: string) {
    return { id };
  }

  @Public()
  @SubscribeMessage('open')
  open(@CurrentApiKey('id') id: string | undefined) {
    return { id: id ?? null };
  }
}

/** A ws gateway: the key from the upgrade request's headers, kept at connection. */
@UseGuards(WsApiKeyGuard)
@WebSocketGateway({ path: '/ws' })
class WsOrdersGateway implements OnGatewayConnection {
  handleConnection(client: WebSocket, request: IncomingMessage) {
    rememberHandshake(client, request);
  }

  @Scopes('orders:read')
  @SubscribeMessage('orders')
  orders(@CurrentApiKey('id') id: string) {
    return { event: 'orders', data: { id } };
  }
}

/** A host's guard that reads the key from each message (`{ apiKey }`), as browsers' ws clients may send it. */
@Injectable()
class KeyInMessageGuard extends WsApiKeyGuard {
  protected override readCredential(context: ExecutionContext) {
    const data = context.switchToWs().getData() as { apiKey?: string } | undefined;
    return this.credentialFromHeaders({ 'x-api-key': data?.apiKey });
  }
}

/** A ws gateway that keeps no upgrade request: the key comes in each message. */
@UseGuards(KeyInMessageGuard)
@WebSocketGateway({ path: '/ws-bare' })
class BareWsOrdersGateway {
  @Scopes('orders:read')
  @SubscribeMessage('orders')
  orders(@CurrentApiKey('id') id: string) {
    return { event: 'orders', data: { id } };
  }
}

/** The refusal of a key whose IP allowlist refuses the connection's address. */
const ADDRESS_REFUSED = { status: 'error', statusCode: 403, message: 'This API key may not be used from this address' };
/** What a client might hope the guard reads an address from. */
const FORGED_HEADERS = { 'x-forwarded-for': '203.0.113.7', 'x-real-ip': '203.0.113.7' };

async function startApp(gateway: Type | Type[], ws: boolean) {
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [testTypeOrmModule(), ApiKeyModule.forRoot({})],
    providers: [gateway].flat(),
  }).compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  if (ws) app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, port, logs, service: app.get(ApiKeyService) };
}

describe('WsApiKeyGuard with socket.io (real socket.io-client)', () => {
  let app: INestApplication;
  let port: number;
  let service: ApiKeyService;
  let logs: LogCapture;
  const sockets: Socket[] = [];
  const issued: string[] = [];

  async function connect(options: { auth?: Record<string, unknown>; extraHeaders?: Record<string, string> }) {
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false, ...options });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    return socket;
  }

  /** The handler's answer, or the guard's `exception` event. */
  function ask(socket: Socket): Promise<{ answer?: unknown; exception?: unknown }> {
    return new Promise((resolve) => {
      const onException = (exception: unknown) => resolve({ exception });
      socket.once('exception', onException);
      socket.emit('orders', {}, (answer: unknown) => {
        socket.off('exception', onException);
        resolve({ answer });
      });
    });
  }

  beforeAll(async () => {
    ({ app, port, service, logs } = await startApp(SocketIoOrdersGateway, false));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await app?.close();
    const text = logs.lines.join('\n');
    for (const key of issued) expect(text).not.toContain(key);
  });

  it('admits the key of the auth payload and refuses the next message once it is revoked', async () => {
    const { key, record } = await service.issue({ name: 'io', scopes: ['orders:read'] });
    issued.push(key);
    const socket = await connect({ auth: { apiKey: key } });
    expect(await ask(socket)).toEqual({ answer: { id: record.id } });
    await service.revoke(record.id, 'test');
    expect(await ask(socket)).toEqual({
      exception: { status: 'error', statusCode: 401, message: 'Invalid API key' },
    });
  });

  it('reads Authorization: Bearer from the handshake headers and judges scopes per message', async () => {
    const { key, record } = await service.issue({ name: 'io', scopes: ['orders:read'] });
    issued.push(key);
    const socket = await connect({ extraHeaders: { authorization: `Bearer ${key}` } });
    expect(await ask(socket)).toEqual({ answer: { id: record.id } });
    await service.updateScopes(record.id, ['other']);
    expect(await ask(socket)).toEqual({
      exception: { status: 'error', statusCode: 403, message: 'Insufficient scope' },
    });
  });

  it("checks a key's IP allowlist against the connection's peer address, never the auth payload or headers", async () => {
    const local = await service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    issued.push(local.key, office.key);
    const fromHere = await connect({ auth: { apiKey: local.key, ip: '198.51.100.1' }, extraHeaders: FORGED_HEADERS });
    expect(await ask(fromHere)).toEqual({ answer: { id: local.record.id } });
    const claimed = await connect({ auth: { apiKey: office.key, ip: '203.0.113.7' }, extraHeaders: FORGED_HEADERS });
    expect(await ask(claimed)).toEqual({ exception: ADDRESS_REFUSED });
  });

  it('hands a @Public() handler no principal, not even one an earlier message left on the socket', async () => {
    const { key, record } = await service.issue({ name: 'io', scopes: ['orders:read'] });
    issued.push(key);
    const socket = await connect({ auth: { apiKey: key } });
    expect(await ask(socket)).toEqual({ answer: { id: record.id } });
    await service.revoke(record.id, 'test');
    const answer = await new Promise((resolve) => socket.emit('open', {}, resolve));
    expect(answer).toEqual({ id: null });
  });

  it('refuses a socket without a key, and two different keys', async () => {
    const a = await service.issue({ name: 'a', scopes: ['orders:read'] });
    const b = await service.issue({ name: 'b', scopes: ['orders:read'] });
    issued.push(a.key, b.key);
    expect(await ask(await connect({}))).toEqual({
      exception: { status: 'error', statusCode: 401, message: 'API key required' },
    });
    const both = await connect({ auth: { apiKey: a.key }, extraHeaders: { authorization: `Bearer ${b.key}` } });
    expect(await ask(both)).toEqual({
      exception: { status: 'error', statusCode: 400, message: 'Send one API key, not two different ones' },
    });
  });
});

describe('WsApiKeyGuard with ws (real ws client)', () => {
  let app: INestApplication;
  let port: number;
  let service: ApiKeyService;
  const clients: WebSocket[] = [];

  async function connect(headers: Record<string, string>, path = '/ws'): Promise<WebSocket> {
    const client = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    clients.push(client);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    return client;
  }

  function ask(client: WebSocket, data: Record<string, unknown> = {}): Promise<unknown> {
    return new Promise((resolve) => {
      client.once('message', (message) => resolve(JSON.parse(String(message))));
      client.send(JSON.stringify({ event: 'orders', data }));
    });
  }

  beforeAll(async () => {
    ({ app, port, service } = await startApp([WsOrdersGateway, BareWsOrdersGateway], true));
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await app?.close();
  });

  it('admits the key of the upgrade request and refuses the next message once it is revoked', async () => {
    const { key, record } = await service.issue({ name: 'ws', scopes: ['orders:read'] });
    const client = await connect({ 'x-api-key': key });
    expect(await ask(client)).toEqual({ event: 'orders', data: { id: record.id } });
    await service.revoke(record.id, 'test');
    expect(await ask(client)).toEqual({
      event: 'exception',
      data: { status: 'error', statusCode: 401, message: 'Invalid API key' },
    });
  });

  it('judges scopes and the rate limit per message, from the stored row', async () => {
    const { key, record } = await service.issue({
      name: 'ws',
      scopes: ['orders:read'],
      rateLimit: { limit: 2, windowMs: 60_000 },
    });
    const client = await connect({ 'x-api-key': key });
    expect(await ask(client)).toEqual({ event: 'orders', data: { id: record.id } });
    await service.updateScopes(record.id, ['other']);
    expect(await ask(client)).toEqual({
      event: 'exception',
      data: { status: 'error', statusCode: 403, message: 'Insufficient scope' },
    });
    await service.updateScopes(record.id, ['orders:read']);
    expect(await ask(client)).toEqual({ event: 'orders', data: { id: record.id } });
    expect(await ask(client)).toEqual({
      event: 'exception',
      data: { status: 'error', statusCode: 429, message: 'Too many requests for this API key' },
    });
  });

  it("checks a key's IP allowlist against the upgrade request's peer address, never the headers", async () => {
    const local = await service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    const fromHere = await connect({ 'x-api-key': local.key, ...FORGED_HEADERS, 'x-forwarded-for': '198.51.100.1' });
    expect(await ask(fromHere)).toEqual({ event: 'orders', data: { id: local.record.id } });
    const claimed = await connect({ 'x-api-key': office.key, ...FORGED_HEADERS });
    expect(await ask(claimed)).toEqual({ event: 'exception', data: ADDRESS_REFUSED });
  });

  it("without rememberHandshake (a key in each message), checks the client socket's peer address", async () => {
    const local = await service.issue({ name: 'local', scopes: ['orders:read'], allowedIps: ['127.0.0.1', '::1'] });
    const office = await service.issue({ name: 'office', scopes: ['orders:read'], allowedIps: ['203.0.113.7'] });
    const client = await connect(FORGED_HEADERS, '/ws-bare');
    expect(await ask(client, { apiKey: local.key })).toEqual({ event: 'orders', data: { id: local.record.id } });
    expect(await ask(client, { apiKey: office.key, ip: '203.0.113.7' })).toEqual({
      event: 'exception',
      data: ADDRESS_REFUSED,
    });
  });

  it('refuses a connection without a key', async () => {
    const client = await connect({});
    expect(await ask(client)).toEqual({
      event: 'exception',
      data: { status: 'error', statusCode: 401, message: 'API key required' },
    });
  });
});

describe('optional peers', () => {
  it('keeps @nestjs/websockets and @nestjs/microservices out of every file but their entry points', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== 'websockets' && entry.name !== 'microservices') walk(path);
        } else if (/from '@nestjs\/(websockets|microservices)/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    walk(join(process.cwd(), 'lib'));
    expect(offenders).toEqual([]);
  });
});
