// Consumer smoke app 3: ESM, Nest 12, every optional peer at its newest version, in-memory SQLite (sql.js).
// Boots one app per feature entry point (nestjs-opaque-keys/<feature>), one after the other in this process;
// each app verifies a key over HTTP (200 with it, 401 without) and checks what its feature adds through the
// host's own copy of the peer. Plain JS: decorators are applied with Reflect.decorate.
// Prints `FEATURE ok|FAIL <name>: <detail>` per feature and a `RESULT` line; exit 0 only if every feature passed.
import 'reflect-metadata';
import { Controller, Get, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { AuthGuard } from '@nestjs/passport';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { MessagePattern, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { WsAdapter } from '@nestjs/platform-ws';
import { metrics } from '@opentelemetry/api';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { firstValueFrom } from 'rxjs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { ApiKeyGuard, ApiKeyModule, ApiKeyService, CurrentApiKey, Scopes } from 'nestjs-opaque-keys';
import { ApiKeyEventPublisher, apiKeyEventName, withEvents } from 'nestjs-opaque-keys/events';
import { withWebhooks } from 'nestjs-opaque-keys/webhooks';
import { withExpiryNotices } from 'nestjs-opaque-keys/expiry-notices';
import { ApiKeyUsageReader, ApiKeyUsageRecorder, withUsage } from 'nestjs-opaque-keys/usage';
import { API_KEY_TELEMETRY, withTelemetry } from 'nestjs-opaque-keys/telemetry';
import { ApiKeyRemoteModule, createIntrospectionController } from 'nestjs-opaque-keys/introspection';
import { createLeakReportController } from 'nestjs-opaque-keys/secret-scanning';
import { ApiKeyAdminModule } from 'nestjs-opaque-keys/admin';
import { applyApiKeySecurity } from 'nestjs-opaque-keys/swagger';
import { ApiKeyStrategy } from 'nestjs-opaque-keys/passport';
import { WsApiKeyGuard, rememberHandshake } from 'nestjs-opaque-keys/websockets';
import { RpcApiKeyGuard } from 'nestjs-opaque-keys/microservices';

const HOUR = 3_600_000;

/** Error lines the apps logged (printed too): a feature whose app logs one, even while closing, fails. */
const loggedErrors = [];
const LOGGER = {
  log() {},
  debug() {},
  verbose() {},
  warn: (...parts) => console.warn('WARN', ...parts),
  error: (...parts) => {
    loggedErrors.push(parts.map((part) => (part instanceof Error ? part.message : String(part))).join(' '));
    console.error('ERROR', ...parts);
  },
};

/** Applies method decorators (and `@CurrentApiKey(field)` on the first parameter) to `Class.prototype[method]`. */
function method(Class, name, decorators, keyField) {
  Reflect.decorate(decorators, Class.prototype, name, Object.getOwnPropertyDescriptor(Class.prototype, name));
  if (keyField !== undefined) CurrentApiKey(keyField)(Class.prototype, name, 0);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function until(condition, what, timeoutMs = 10_000) {
  for (const started = Date.now(); Date.now() - started < timeoutMs;) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** GET /orders: the guarded route every app serves. */
class OrdersController {
  list(keyId) {
    return { keyId };
  }
}
method(OrdersController, 'list', [Get(), Scopes('orders:read')], 'id');
Reflect.decorate([Controller('orders'), UseGuards(ApiKeyGuard)], OrdersController);

/**
 * Boots an app on a fresh in-memory SQLite database with `ApiKeyModule` (the given features) and the host's
 * extras; `prepare(app)` runs before `listen`. Resolves with the app and its base URL.
 */
async function boot({ features = [], imports = [], controllers = [], providers = [], prepare, keyStore = true }) {
  class AppModule {}
  const base = keyStore
    ? [
        TypeOrmModule.forRoot({ type: 'sqljs', autoLoadEntities: true, synchronize: true }),
        ApiKeyModule.forRoot({ prefix: 'sk', features }),
      ]
    : [];
  Reflect.decorate(
    [Module({ imports: [...base, ...imports], controllers: [OrdersController, ...controllers], providers })],
    AppModule,
  );
  const app = await NestFactory.create(AppModule, { logger: LOGGER });
  try {
    await prepare?.(app);
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close();
    throw error;
  }
  return { app, url: `http://127.0.0.1:${app.getHttpServer().address().port}` };
}

/** Issues a key and checks it over HTTP: 200 with the key's id, 401 without. Resolves with the issued key. */
async function verifyOverHttp(app, url, scopes = ['orders:read'], service = app.get(ApiKeyService)) {
  const issued = await service.issue({ name: 'consumer smoke', scopes });
  const withKey = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${issued.key}` } });
  const body = await withKey.json();
  const withoutKey = await fetch(`${url}/orders`);
  check(withKey.status === 200 && body.keyId === issued.record.id, `GET /orders with a key: ${withKey.status}`);
  check(withoutKey.status === 401, `GET /orders without a key: ${withoutKey.status}`);
  return issued;
}

/** Boots, runs `body(app, url)` and closes the app whatever happened; fails if the app logged an error. */
async function withApp(options, body) {
  const before = loggedErrors.length;
  const { app, url } = await boot(options);
  let result;
  try {
    result = await body(app, url);
  } finally {
    await app.close();
  }
  const logged = loggedErrors.slice(before);
  check(logged.length === 0, `the app logged ${logged.length} error(s): ${logged.join(' | ').slice(0, 300)}`);
  return result;
}

const FEATURES = {
  async events() {
    return withApp({ imports: [EventEmitterModule.forRoot()], features: [withEvents()] }, async (app, url) => {
      const heard = [];
      app.get(EventEmitter2).on(apiKeyEventName('issued'), (event) => heard.push(event));
      const { record } = await verifyOverHttp(app, url);
      await app.get(ApiKeyEventPublisher).idle();
      check(heard.length === 1 && heard[0].keyId === record.id, `EventEmitter2 heard ${heard.length} events`);
      return `GET /orders 200/401, EventEmitter2 heard ${apiKeyEventName('issued')}`;
    });
  },

  async webhooks() {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const received = [];
    const receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.writeHead(204).end();
      });
    });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = { url: `http://127.0.0.1:${receiver.address().port}/hooks`, secret, events: ['issued'] };
      return await withApp({ features: [withWebhooks({ endpoints: [endpoint] })] }, async (app, url) => {
        const { record } = await verifyOverHttp(app, url);
        await until(() => received.length > 0, 'the webhook delivery');
        const payload = new Webhook(secret).verify(received[0].body, received[0].headers);
        check(payload.type === 'api-key.issued' && payload.data.keyId === record.id, `delivery ${received[0].body}`);
        return 'GET /orders 200/401, api-key.issued delivered, signature verified by standardwebhooks';
      });
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  },

  async 'expiry-notices'() {
    const heard = [];
    const listener = { onApiKeyEvent: (event) => heard.push(event) };
    const options = {
      imports: [ScheduleModule.forRoot()],
      features: [withExpiryNotices({ checkIntervalMs: 1000 }), withEvents({ listeners: [listener] })],
    };
    return withApp(options, async (app, url) => {
      const intervals = app.get(SchedulerRegistry).getIntervals();
      check(intervals.includes('nestjs-opaque-keys:expiry-notices'), `scheduler intervals: ${intervals}`);
      await verifyOverHttp(app, url);
      const { record } = await app.get(ApiKeyService).issue({ name: 'soon', expiresAt: new Date(Date.now() + HOUR) });
      await until(() => heard.some((e) => e.type === 'expiring' && e.keyId === record.id), 'the expiring notice');
      return 'GET /orders 200/401, interval on @nestjs/schedule, expiring notice heard';
    });
  },

  async usage() {
    return withApp({ features: [withUsage()] }, async (app, url) => {
      const { record } = await verifyOverHttp(app, url);
      await app.get(ApiKeyUsageRecorder).flush();
      const series = await app
        .get(ApiKeyUsageReader)
        .series({ keyId: record.id, from: new Date(Date.now() - 2 * HOUR), to: new Date(Date.now() + HOUR) });
      check(series.totals.verified === 1, `usage totals ${JSON.stringify(series.totals)}`);
      return 'GET /orders 200/401, usage series counts 1 verified request';
    });
  },

  async telemetry() {
    // A minimal meter provider registered through the host's @opentelemetry/api: counters record, the rest no-op.
    const added = [];
    const noop = new Proxy(function () {}, { get: (_, p) => (p === 'then' ? undefined : noop), apply: () => noop });
    const meter = new Proxy(
      {},
      { get: (_, p) => (p === 'createCounter' ? (name) => ({ add: (v, a) => added.push({ name, ...a }) }) : noop) },
    );
    metrics.setGlobalMeterProvider({ getMeter: () => meter });
    try {
      return await withApp({ features: [withTelemetry()] }, async (app, url) => {
        await verifyOverHttp(app, url);
        const verified = added.filter((a) => a.name === API_KEY_TELEMETRY.verifications && a.outcome === 'verified');
        check(verified.length === 1 && verified[0].transport === 'http', `counted ${JSON.stringify(added)}`);
        return `GET /orders 200/401, ${API_KEY_TELEMETRY.verifications} counted through @opentelemetry/api`;
      });
    } finally {
      metrics.disable();
    }
  },

  async introspection() {
    return withApp({ controllers: [createIntrospectionController()] }, async (store, storeUrl) => {
      const service = store.get(ApiKeyService);
      const { key, record } = await verifyOverHttp(store, storeUrl);
      const client = await service.issue({ name: 'orders service', scopes: ['keys:introspect'] });
      const answer = await fetch(`${storeUrl}/oauth/introspect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.key}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: key }),
      });
      const introspected = await answer.json();
      check(answer.status === 200 && introspected.active === true, `introspection ${answer.status}`);
      const remote = ApiKeyRemoteModule.forRoot({
        introspectionUrl: `${storeUrl}/oauth/introspect`,
        introspectionKey: client.key,
        prefix: 'sk',
      });
      return withApp({ keyStore: false, imports: [remote] }, async (_, remoteUrl) => {
        const withKey = await fetch(`${remoteUrl}/orders`, { headers: { authorization: `Bearer ${key}` } });
        const body = await withKey.json();
        const withoutKey = await fetch(`${remoteUrl}/orders`);
        check(withKey.status === 200 && body.keyId === record.id, `remote GET /orders with a key: ${withKey.status}`);
        check(withoutKey.status === 401, `remote GET /orders without a key: ${withoutKey.status}`);
        return 'GET /orders 200/401, POST /oauth/introspect active, ApiKeyRemoteModule app 200/401';
      });
    });
  },

  async 'secret-scanning'() {
    return withApp({ controllers: [createLeakReportController()] }, async (app, url) => {
      const { key } = await verifyOverHttp(app, url);
      const reporter = await app.get(ApiKeyService).issue({ name: 'scanner', scopes: ['keys:leaks'] });
      const report = await fetch(`${url}/api-keys/leaks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reporter.key}`, 'content-type': 'application/json' },
        body: JSON.stringify([{ token: key }]),
      });
      const { results } = await report.json();
      check(report.status === 200 && results?.[0]?.status === 'revoked', `leak report ${report.status}`);
      const after = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } });
      check(after.status === 401, `GET /orders with the reported key: ${after.status}`);
      return 'GET /orders 200/401, leak report revoked the key, then 401';
    });
  },

  async admin() {
    return withApp({ imports: [ApiKeyAdminModule.forRoot()] }, async (app, url) => {
      const { key, record } = await verifyOverHttp(app, url, ['keys:admin', 'orders:read']);
      const session = await fetch(`${url}/admin/keys/api/session`, { headers: { authorization: `Bearer ${key}` } });
      const body = await session.json();
      check(session.status === 200 && body.admin?.id === record.id, `GET /admin/keys/api/session: ${session.status}`);
      const refused = await fetch(`${url}/admin/keys/api/session`);
      check(refused.status === 401, `GET /admin/keys/api/session without a key: ${refused.status}`);
      const page = await fetch(`${url}/admin/keys`);
      const script = await fetch(`${url}/admin/keys/assets/app.js`);
      const code = await script.text();
      check(
        page.status === 200 && script.status === 200 && code.length > 1000,
        `page ${page.status}, script ${script.status}`,
      );
      return 'GET /orders 200/401, console session 200/401, page and its shipped app.js served';
    });
  },

  async swagger() {
    // As a host does it: the document is built and served before listen (after init, Nest's 404 would answer).
    const prepare = (app) => {
      const config = new DocumentBuilder().setTitle('consumer').build();
      SwaggerModule.setup('docs', app, SwaggerModule.createDocument(app, applyApiKeySecurity(app, config)));
    };
    return withApp({ prepare }, async (app, url) => {
      await verifyOverHttp(app, url);
      const document = await (await fetch(`${url}/docs-json`)).json();
      const security = document.paths?.['/orders']?.get?.security;
      check(document.components?.securitySchemes?.apiKeyBearer?.scheme === 'bearer', 'no apiKeyBearer scheme');
      check(JSON.stringify(security).includes('orders:read'), `/orders security ${JSON.stringify(security)}`);
      return 'GET /orders 200/401, /docs-json documents apiKeyBearer with orders:read';
    });
  },

  async passport() {
    class PassportController {
      me(request) {
        return { keyId: request.user?.id };
      }
    }
    method(PassportController, 'me', [Get()]);
    Req()(PassportController.prototype, 'me', 0);
    Reflect.decorate([Controller('passport'), UseGuards(AuthGuard('api-key'))], PassportController);
    return withApp({ controllers: [PassportController], providers: [ApiKeyStrategy] }, async (app, url) => {
      const { key, record } = await verifyOverHttp(app, url);
      const withKey = await fetch(`${url}/passport`, { headers: { authorization: `Bearer ${key}` } });
      const body = await withKey.json();
      const withoutKey = await fetch(`${url}/passport`);
      check(withKey.status === 200 && body.keyId === record.id, `AuthGuard('api-key') with a key: ${withKey.status}`);
      check(withoutKey.status === 401, `AuthGuard('api-key') without a key: ${withoutKey.status}`);
      return "GET /orders 200/401, AuthGuard('api-key') 200/401";
    });
  },

  async websockets() {
    class OrdersGateway {
      handleConnection(client, request) {
        rememberHandshake(client, request);
      }
      orders(id) {
        return { event: 'orders', data: { id } };
      }
    }
    method(OrdersGateway, 'orders', [Scopes('orders:read'), SubscribeMessage('orders')], 'id');
    Reflect.decorate([UseGuards(WsApiKeyGuard), WebSocketGateway({ path: '/ws' })], OrdersGateway);
    const prepare = (app) => app.useWebSocketAdapter(new WsAdapter(app));
    return withApp({ providers: [OrdersGateway], prepare }, async (app, url) => {
      const { key, record } = await verifyOverHttp(app, url);
      const ask = async (headers) => {
        const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers });
        try {
          await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
          const reply = new Promise((resolve) => socket.once('message', (m) => resolve(JSON.parse(String(m)))));
          socket.send(JSON.stringify({ event: 'orders', data: {} }));
          return await reply;
        } finally {
          socket.close();
        }
      };
      const admitted = await ask({ authorization: `Bearer ${key}` });
      check(admitted.data?.id === record.id, `ws with a key: ${JSON.stringify(admitted)}`);
      const refused = await ask({});
      check(
        refused.event === 'exception' && refused.data?.statusCode === 401,
        `ws without: ${JSON.stringify(refused)}`,
      );
      return 'GET /orders 200/401, ws message with a key answered, without one refused 401';
    });
  },

  async microservices() {
    class OrdersHandler {
      list(id) {
        return { id };
      }
    }
    method(OrdersHandler, 'list', [Scopes('orders:read'), MessagePattern('orders.list')], 'id');
    Reflect.decorate([Controller(), UseGuards(RpcApiKeyGuard)], OrdersHandler);
    const port = await freePort();
    const transport = { transport: Transport.TCP, options: { host: '127.0.0.1', port } };
    const prepare = async (app) => {
      app.connectMicroservice(transport);
      await app.startAllMicroservices();
    };
    return withApp({ controllers: [OrdersHandler], prepare }, async (app, url) => {
      const { key, record } = await verifyOverHttp(app, url);
      const client = ClientProxyFactory.create(transport);
      try {
        const answer = await firstValueFrom(client.send('orders.list', { apiKey: key }));
        check(answer.id === record.id, `TCP message with a key: ${JSON.stringify(answer)}`);
        const refused = await firstValueFrom(client.send('orders.list', {})).catch((error) => error);
        check(refused?.statusCode === 401, `TCP message without a key: ${JSON.stringify(refused)}`);
      } finally {
        await client.close();
      }
      return 'GET /orders 200/401, TCP message with a key answered, without one refused 401';
    });
  },
};

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let passed = 0;
const names = Object.keys(FEATURES);
for (const name of names) {
  try {
    console.log(`FEATURE ok ${name}: ${await FEATURES[name]()}`);
    passed++;
  } catch (error) {
    console.log(`FEATURE FAIL ${name}: ${error?.stack ?? error}`);
  }
}
const ok = passed === names.length;
console.log(`RESULT ${ok ? 'ok' : 'FAIL'}: ${passed} of ${names.length} features booted and verified a key`);
process.exitCode = ok ? 0 : 1;
