import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { ApiKeyModule } from '../../api-key.module.js';
import { ApiKeyService } from '../../lifecycle/api-key.service.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Where and how the CLI reaches the keys. */
export interface CliConnection {
  dataSource: DataSourceOptions;
  prefix?: string;
  tableName?: string;
}

@Module({})
class ApiKeyCliModule {}

/**
 * Runs `work` with an `ApiKeyService` in a Nest application context on the
 * host's database (its own connection, with only the key entity, no
 * synchronize, no migrations), then closes it.
 * @throws CliError (database unavailable) when the database cannot be reached
 */
export async function withApiKeyService<T>(
  connection: CliConnection,
  work: (service: ApiKeyService) => Promise<T>,
): Promise<T> {
  let app: INestApplicationContext;
  try {
    app = await NestFactory.createApplicationContext(
      {
        module: ApiKeyCliModule,
        imports: [
          TypeOrmModule.forRoot({
            ...connection.dataSource,
            entities: [],
            migrations: [],
            subscribers: [],
            autoLoadEntities: true,
            synchronize: false,
            migrationsRun: false,
            dropSchema: false,
            logging: false,
            retryAttempts: 0,
          } as TypeOrmModuleOptions),
          ApiKeyModule.forRoot({
            lastUsedIntervalMs: 0,
            ...(connection.prefix ? { prefix: connection.prefix } : {}),
            ...(connection.tableName ? { tableName: connection.tableName } : {}),
          }),
        ],
      },
      { logger: false, abortOnError: false },
    );
  } catch (error) {
    if (error instanceof TypeError) throw new CliError(error.message, ExitCode.usage);
    throw new CliError(`database unavailable: ${(error as Error).message}`, ExitCode.databaseUnavailable);
  }
  try {
    return await work(app.get(ApiKeyService));
  } finally {
    await app.close();
  }
}
