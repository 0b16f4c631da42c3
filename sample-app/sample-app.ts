import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule, type AppModuleOptions } from './app.module.js';
import { setupOpenApi } from './openapi.js';

/** Options of {@link createSampleApp}: Nest's own, plus the app module's. */
export interface SampleAppOptions extends NestApplicationOptions, AppModuleOptions {}

/**
 * Creates and initializes the sample app without listening, so tests can
 * drive it. Shutdown hooks are on: on SIGTERM/SIGINT the app closes cleanly
 * and the library flushes pending `lastUsedAt` writes. OpenAPI docs are at `/docs`.
 */
export async function createSampleApp({
  rateLimitStorage,
  ...options
}: SampleAppOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot({ rateLimitStorage }), { abortOnError: false, ...options });
  app.enableShutdownHooks();
  setupOpenApi(app);
  await app.init();
  return app;
}
