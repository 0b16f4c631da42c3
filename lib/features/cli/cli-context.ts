import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { ApiKeyModule } from '../../module/api-key.module.js';
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
 * @throws ApiKeyConfigurationError when the key tables are missing (the module's boot check)
 */
export async function withApiKeyService<T>(
  connection: CliConnection,
  work: (service: ApiKeyService, dataSource: DataSource) => Promise<T>,
): Promise<T> {
  let app: INestApplicationContext;
  let opened: DataSource | undefined;
  try {
    app = await NestFactory.createApplicationContext(
      {
        module: ApiKeyCliModule,
        imports: [
          TypeOrmModule.forRootAsync({
            useFactory: () =>
              ({
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
              }) as TypeOrmModuleOptions,
            // Kept, so that a failed boot check can close the connection it opened.
            dataSourceFactory: async (options) => (opened = await new DataSource(options!).initialize()),
          }),
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
    if (opened?.isInitialized) await opened.destroy();
    if (error instanceof ApiKeyConfigurationError) throw error; // a bad --prefix / --table, or the schema (exitCodeOf)
    throw new CliError(`database unavailable: ${(error as Error).message}`, ExitCode.databaseUnavailable);
  }
  try {
    return await work(app.get(ApiKeyService), app.get(DataSource));
  } finally {
    await app.close();
  }
}
