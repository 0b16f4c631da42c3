import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

/** The HTTP platforms the e2e suites run on. */
export type HttpPlatform = 'express' | 'fastify';

/** The platform chosen by the environment (`HTTP_PLATFORM=fastify`), `express` by default. */
export function httpPlatform(): HttpPlatform {
  const platform = (process.env.HTTP_PLATFORM ?? 'express').toLowerCase();
  if (platform === 'express' || platform === 'fastify') return platform;
  throw new Error(`HTTP_PLATFORM must be express or fastify; got ${JSON.stringify(process.env.HTTP_PLATFORM)}`);
}

/**
 * Creates and initializes an app on the given platform (default
 * {@link httpPlatform}). On Fastify it also waits for `ready()`, so supertest
 * can drive `app.getHttpServer()` without `listen()`.
 */
export async function createPlatformApp(
  moduleRef: TestingModule,
  options: NestApplicationOptions = {},
  platform: HttpPlatform = httpPlatform(),
  { trustProxy = false }: { trustProxy?: boolean } = {},
): Promise<INestApplication> {
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter({ trustProxy }), options)
      : moduleRef.createNestApplication(options);
  // Express: `trust proxy` makes req.ip the X-Forwarded-For client (Fastify: the adapter's trustProxy).
  if (platform === 'express' && trustProxy) app.getHttpAdapter().getInstance().set('trust proxy', true);
  try {
    await app.init();
    if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  } catch (error) {
    // A boot that fails (a boot check refusing the setup) must not leave the DataSource's connections open: a
    // MariaDB pool keeps its idle connections, and they would keep the test process alive.
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
