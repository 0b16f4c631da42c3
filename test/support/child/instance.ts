/**
 * One app instance as its own process, for the multi-instance suites and the soak: a Nest app (Express) on a
 * PostgreSQL schema another process created, rate limits counted in Redis (and, with `cache`, the lookup
 * cache invalidated through Redis). Configured by the JSON in `INSTANCE_CONFIG` ({@link InstanceConfig});
 * prints `READY <port>` once listening; `GET /__stats` (unguarded) answers its RSS and pool size; SIGTERM
 * closes it. Run as `node --import ./test/support/child/ts-register.mjs test/support/child/instance.ts`.
 */
import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { ApiKeyModule, redisInvalidationBus, type ApiKeyModuleOptions } from 'nestjs-opaque-keys';
import { DataSource } from 'typeorm';
import { OrdersController } from '../controllers.js';
import { PingController, ReportsController } from '../credit-controllers.js';

/** What the parent hands an instance. */
export interface InstanceConfig {
  dbUrl: string;
  schema: string;
  redisUrl: string;
  /** More module options (JSON: rate limits and the like). */
  options?: ApiKeyModuleOptions;
  /** Turn the lookup cache on with this TTL, invalidated through Redis. */
  cacheTtlMs?: number;
  poolSize?: number;
}

const config = JSON.parse(process.env.INSTANCE_CONFIG ?? '{}') as InstanceConfig;
const clients: Redis[] = [];

/** A host's ioredis client that fails a command at once while Redis is away (no offline queue), and reconnects. */
function redis(): Redis {
  const client = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    retryStrategy: () => 200,
  });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

@Controller('__stats')
class StatsController {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  @Get()
  stats() {
    const pool = (this.dataSource.driver as unknown as { master: { totalCount: number; idleCount: number } }).master;
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    return {
      rss: memory.rss,
      heap: memory.heapUsed,
      pool: pool.totalCount,
      idle: pool.idleCount,
      cpuUs: cpu.user + cpu.system,
    };
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: config.dbUrl,
      schema: config.schema,
      extra: { options: `-c search_path=${config.schema}`, max: config.poolSize ?? 10 },
      autoLoadEntities: true,
      retryAttempts: 0,
    }),
    ApiKeyModule.forRoot({
      rateLimitBackend: { redis: redis() },
      ...config.options,
      ...(config.cacheTtlMs
        ? {
            cache: {
              ttlMs: config.cacheTtlMs,
              invalidation: redisInvalidationBus({ publisher: redis(), subscriber: redis() }),
            },
          }
        : {}),
    }),
  ],
  controllers: [OrdersController, PingController, ReportsController, StatsController],
})
class InstanceModule {}

const app = await NestFactory.create(InstanceModule, { logger: ['error', 'warn'] });
await app.listen(0, '127.0.0.1');
process.stdout.write(`READY ${(app.getHttpServer().address() as { port: number }).port}\n`);
let closing = false;
process.on('SIGTERM', () => {
  if (closing) return;
  closing = true;
  void app.close().finally(() => {
    for (const client of clients) client.disconnect();
    process.exit(0);
  });
});
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`UNHANDLED REJECTION ${String(reason)}\n`);
});
