// Consumer smoke app 2: CommonJS, Nest 11, TypeORM 0.3, in-memory SQLite (sql.js).
// `require('nestjs-opaque-keys')` loads the ESM package through Node's require(esm)
// (Node >= 20.19). Exit 0 only if a request with a key gets 200 and one without gets 401.
require('reflect-metadata');
const { Controller, Get, Module, UseGuards } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule } = require('@nestjs/typeorm');
const { ApiKeyGuard, ApiKeyModule, ApiKeyService, CurrentApiKey, Scopes } = require('nestjs-opaque-keys');

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
        ApiKeyModule.forRoot({ prefix: 'sk' }),
      ],
      controllers: [OrdersController],
    }),
  ],
  AppModule,
);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  let ok = false;
  try {
    await app.listen(0, '127.0.0.1');
    const url = `${await app.getUrl()}/orders`.replace('[::1]', '127.0.0.1');
    const { key, record } = await app.get(ApiKeyService).issue({ name: 'consumer smoke', scopes: ['orders:read'] });
    const withKey = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    const body = await withKey.json();
    const withoutKey = await fetch(url);
    ok = withKey.status === 200 && body.keyId === record.id && withoutKey.status === 401;
    console.log(`RESULT ${ok ? 'ok' : 'FAIL'}: with key ${withKey.status}, without key ${withoutKey.status}`);
  } finally {
    await app.close();
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
