/**
 * One benchmarked Nest app (Express): `node server.js <variant-id> <port>`.
 * Serves `GET /bench` behind the variant's guard and `GET /__stats` (CPU time
 * used so far, unguarded). Prints `READY` once listening; exits cleanly on
 * SIGTERM/SIGINT. `GET /__stats/profile/start` and `/__stats/profile/stop?file=`
 * take a V8 CPU profile of just the window in between.
 */
import 'reflect-metadata';
import { createSecretKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import {
  Controller,
  Get,
  Module,
  Query,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'typeorm';
import { API_KEY_STORE } from '../lib/api-key.constants.js';
import { ApiKeyDatabase } from '../lib/storage/index.js';
import { type ApiKeyColumns } from '../lib/storage/index.js';
import { ApiKeyGuard, ApiKeyModule, Scopes, apiKeyEntities, type ApiKeyFeature } from '../lib/index.js';
import { withAlerts } from '../lib/features/alerts/index.js';
import { betterAuthFormat, importEntities, withImport } from '../lib/features/import/index.js';
import { ownerPolicyEntities, withOwnerPolicies } from '../lib/features/owner-policies/index.js';
import { V0TypeOrmApiKeyStore } from './baseline/api-key.store.v0.js';
import { JWT_SECRET, KEY_TAG, PREFIX, SCOPE, VARIANTS, dataSourceOptions, tableFor, type Variant } from './config.js';
import {
  HandRolledGuard,
  JwtBenchGuard,
  NoopAsyncGuard,
  NoopCheckGuard,
  NoopGuard,
  NoopRefuseGuard,
  handRolledEntity,
} from './guards.js';

/** The benchmarked route, behind `guard` (if any). The handler is the same in every variant. */
function benchController(guard?: Type<CanActivate>): Type {
  @Controller()
  class BenchController {
    @Get('bench')
    @Scopes(SCOPE)
    hit() {
      return { ok: true };
    }
  }
  if (guard) UseGuards(guard)(BenchController);
  return BenchController;
}

let profiler: Session | undefined;

/** SQL statements sent so far: the DataSource's logger, called once per statement (the store reports each lookup). */
let statements = 0;

/** A TypeORM logger that only counts statements: as cheap as the default logger with logging off. */
const statementCounter: Logger = {
  logQuery: () => void statements++,
  logQueryError: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: () => undefined,
};

/** Unguarded: CPU time so far, and a V8 CPU profiler to run over a measured window only. */
@Controller('__stats')
class StatsController {
  @Get()
  stats() {
    return { cpu: process.cpuUsage(), statements, rss: process.memoryUsage.rss() };
  }

  @Get('profile/start')
  async startProfile() {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
    await profiler.post('Profiler.start');
    return { started: true };
  }

  @Get('profile/stop')
  async stopProfile(@Query('file') file: string) {
    const { profile } = await profiler!.post('Profiler.stop');
    profiler!.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return { written: file };
  }
}

function appModule(variant: Variant): DynamicModule {
  const imports: DynamicModule['imports'] = [];
  const providers: DynamicModule['providers'] = [];
  let guard: Type<CanActivate> | undefined;
  // The key table's entity and its audit-event entity (the library checks both are registered at boot).
  const entities: (abstract new () => object)[] = variant.size ? apiKeyEntities(tableFor(variant.size)) : [];
  // Loaded and idle (tables created by synchronize below): no bench key has a legacy format, an owner policy, a balance or a refusal to count.
  const features: ApiKeyFeature[] = [];
  if (variant.features) {
    features.push(
      withImport({ formats: [betterAuthFormat({ prefix: 'ba_' })] }),
      withOwnerPolicies(),
      withAlerts({ credits: { below: 50 }, uses: { below: 10 }, rateLimited: { moreThan: 100, windowMs: 60_000 } }),
    );
    entities.push(...importEntities(tableFor(variant.size!)), ...ownerPolicyEntities(tableFor(variant.size!)));
  }
  const entity = entities[0] as typeof ApiKeyColumns | undefined;
  const database = () =>
    TypeOrmModule.forRoot({
      ...dataSourceOptions(variant.db!, variant.size!),
      // Names this server's PostgreSQL backends, whose CPU the instructions mode reads.
      ...(variant.db === 'postgres' ? { applicationName: `bench-server-${process.pid}` } : {}),
      entities,
      // The feature variant's own tables, beside the seeded key table (which synchronize leaves as it is).
      synchronize: variant.features === true,
      logger: statementCounter,
    });
  switch (variant.guard) {
    case 'none':
      break;
    case 'noop':
      guard = NoopGuard;
      break;
    case 'noop-check':
      guard = NoopCheckGuard;
      break;
    case 'noop-async':
      guard = NoopAsyncGuard;
      break;
    case 'noop-refuse':
      guard = NoopRefuseGuard;
      break;
    case 'library':
    case 'library-v0':
      imports.push(
        database(),
        ApiKeyModule.forRoot({
          prefix: PREFIX,
          tableName: tableFor(variant.size!),
          cache: variant.cache ? { ttlMs: 5_000 } : undefined,
          batchLookups: variant.batch,
          keyTag: variant.tag ? KEY_TAG : undefined,
          features,
        }),
      );
      guard = ApiKeyGuard;
      break;
    case 'jwt-string':
      imports.push(JwtModule.register({ secret: JWT_SECRET, verifyOptions: { algorithms: ['HS256'] } }));
      guard = JwtBenchGuard;
      break;
    case 'jwt-keyobject':
      // jsonwebtoken takes a KeyObject too; it skips building one per call.
      imports.push(
        JwtModule.register({
          secret: createSecretKey(Buffer.from(JWT_SECRET)) as never,
          verifyOptions: { algorithms: ['HS256'] },
        }),
      );
      guard = JwtBenchGuard;
      break;
    case 'hand-rolled':
      handRolledEntity.current = entity;
      imports.push(database());
      providers.push(HandRolledGuard);
      guard = HandRolledGuard;
      break;
  }
  @Module({})
  class BenchAppModule {}
  return { module: BenchAppModule, imports, providers, controllers: [benchController(guard), StatsController] };
}

async function createApp(variant: Variant): Promise<INestApplication> {
  const logger = ['error', 'warn'] as const;
  if (variant.guard !== 'library-v0') return NestFactory.create(appModule(variant), { logger: [...logger] });
  // The v0.1 store in place of today's, everything else unchanged.
  const moduleRef = await Test.createTestingModule({ imports: [appModule(variant)] })
    .overrideProvider(API_KEY_STORE)
    .useFactory({
      factory: (db: ApiKeyDatabase) => new V0TypeOrmApiKeyStore(db.dataSource, db.keys),
      inject: [ApiKeyDatabase],
    })
    .compile();
  return moduleRef.createNestApplication({ logger: [...logger] });
}

async function main(): Promise<void> {
  const [id, port = '0'] = process.argv.slice(2);
  const variant = VARIANTS.find((v) => v.id === id);
  if (!variant) throw new Error(`unknown variant ${id}; one of ${VARIANTS.map((v) => v.id).join(', ')}`);
  const app = await createApp(variant);
  await app.listen(Number(port), '127.0.0.1');
  // Under valgrind a server may take seconds to read a keep-alive socket's next request: keep idle sockets open.
  Object.assign(app.getHttpServer(), { keepAliveTimeout: 120_000, headersTimeout: 0, requestTimeout: 0 });
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`READY ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
