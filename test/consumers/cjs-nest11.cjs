// Consumer smoke app 2: CommonJS, Nest 11, TypeORM 0.3, in-memory SQLite (sql.js), the optional peers on their
// Nest 11 lines. `require('nestjs-opaque-keys')` loads the ESM package through Node's require(esm) (Node >= 20.19),
// and so does every feature entry (`nestjs-opaque-keys/<feature>`). Exit 0 only if every entry loads, a request
// with a key gets 200 and one without gets 401, and @nestjs/event-emitter 3 hears the key's `api-key.issued`.
require('reflect-metadata');
const { readdirSync, existsSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { Controller, Get, Module, UseGuards } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule } = require('@nestjs/typeorm');
const { EventEmitter2, EventEmitterModule } = require('@nestjs/event-emitter');
const { ApiKeyGuard, ApiKeyModule, ApiKeyService, CurrentApiKey, Scopes } = require('nestjs-opaque-keys');
const { ApiKeyEventPublisher, apiKeyEventName, withEvents } = require('nestjs-opaque-keys/events');

/** Requires every feature entry of the package; returns the names of those that export nothing. */
function emptyFeatureEntries() {
  const features = join(dirname(require.resolve('nestjs-opaque-keys')), 'features');
  const entries = readdirSync(features).filter((name) => existsSync(join(features, name, 'index.js')));
  return entries.filter((name) => Object.keys(require(`nestjs-opaque-keys/${name}`)).length === 0);
}

class OrdersController {
  list(keyId) {
    return { keyId };
  }
}
Reflect.decorate(
  [Get(), Scopes('orders:read')],
  OrdersController.prototype,
  'list',
  Object.getOwnPropertyDescriptor(OrdersController.prototype, 'list'),
);
CurrentApiKey('id')(OrdersController.prototype, 'list', 0);
Reflect.decorate([Controller('orders'), UseGuards(ApiKeyGuard)], OrdersController);

class AppModule {}
Reflect.decorate(
  [
    Module({
      imports: [
        TypeOrmModule.forRoot({ type: 'sqljs', autoLoadEntities: true, synchronize: true }),
        EventEmitterModule.forRoot(),
        ApiKeyModule.forRoot({ prefix: 'sk', features: [withEvents()] }),
      ],
      controllers: [OrdersController],
    }),
  ],
  AppModule,
);

async function main() {
  const empty = emptyFeatureEntries();
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  let ok = false;
  try {
    const heard = [];
    app.get(EventEmitter2).on(apiKeyEventName('issued'), (event) => heard.push(event));
    await app.listen(0, '127.0.0.1');
    const url = `${await app.getUrl()}/orders`.replace('[::1]', '127.0.0.1');
    const { key, record } = await app.get(ApiKeyService).issue({ name: 'consumer smoke', scopes: ['orders:read'] });
    const withKey = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    const body = await withKey.json();
    const withoutKey = await fetch(url);
    await app.get(ApiKeyEventPublisher).idle();
    const eventHeard = heard.length === 1 && heard[0].keyId === record.id;
    ok = empty.length === 0 && withKey.status === 200 && body.keyId === record.id && withoutKey.status === 401;
    ok &&= eventHeard;
    console.log(
      `RESULT ${ok ? 'ok' : 'FAIL'}: with key ${withKey.status}, without key ${withoutKey.status}, ` +
        `event ${eventHeard ? 'heard' : 'not heard'}, feature entries ${empty.length ? `empty: ${empty}` : 'loaded'}`,
    );
  } finally {
    await app.close();
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
