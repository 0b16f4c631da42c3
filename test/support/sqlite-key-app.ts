import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  ApiKeyGuard,
  ApiKeyModule,
  ApiKeyService,
  CurrentApiKey,
  type ApiKeyModuleOptions,
  type ApiKeyPrincipal,
} from 'nestjs-opaque-keys';
import request from 'supertest';
import { LogCapture } from './log-capture.js';

/** A guarded route that answers with the environment of the key it admitted. */
@Controller('whoami')
@UseGuards(ApiKeyGuard)
class WhoAmIController {
  @Get()
  whoami(@CurrentApiKey() key: ApiKeyPrincipal) {
    return { id: key.id, environment: key.environment };
  }
}

/** An app on a SQLite file that other processes (the CLI) use too. */
export interface SqliteKeyApp {
  readonly app: INestApplication;
  readonly service: ApiKeyService;
  readonly logs: LogCapture;
  /** `GET /whoami` with the key: the status, and the body (`{ id, environment }` when admitted). */
  call(key: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

/**
 * Starts a real Nest app (HTTP, the guard on `GET /whoami`) with `options` on
 * the SQLite file `database`, whose tables exist already (no synchronize): as
 * a host app starts, it records its key format there at boot.
 */
export async function startSqliteKeyApp(database: string, options: ApiKeyModuleOptions): Promise<SqliteKeyApp> {
  const logs = new LogCapture();
  const moduleRef = await Test.createTestingModule({
    imports: [
      TypeOrmModule.forRoot({ type: 'better-sqlite3', database, autoLoadEntities: true, retryAttempts: 0 }),
      ApiKeyModule.forRoot({ lastUsedIntervalMs: 0, ...options }),
    ],
    controllers: [WhoAmIController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: logs });
  await app.init();
  return {
    app,
    service: app.get(ApiKeyService),
    logs,
    async call(key) {
      const res = await request(app.getHttpServer()).get('/whoami').set('Authorization', `Bearer ${key}`);
      return { status: res.status, body: res.body };
    },
    close: () => app.close(),
  };
}
