import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { setupOpenApi } from './openapi.js';

/**
 * Creates and initializes the sample app without listening, so tests can
 * drive it. Shutdown hooks are on: on SIGTERM/SIGINT the app closes cleanly
 * and the library flushes pending `lastUsedAt` writes. OpenAPI docs are at `/docs`.
 */
export async function createSampleApp(options: NestApplicationOptions = {}): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, { abortOnError: false, ...options });
  app.enableShutdownHooks();
  setupOpenApi(app);
  await app.init();
  return app;
}
