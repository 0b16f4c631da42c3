import { Module, type INestApplicationContext, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { ApiKeyModule } from '../../module/api-key.module.js';
import { ApiKeyService } from '../../lifecycle/api-key.service.js';
import { apiKeyEventEntityFor } from '../../storage/api-key-event.entity.js';
import { readKeyFormat, type RecordedKeyFormat } from '../../storage/key-format.record.js';
import { lastAddressEntities } from '../last-address/index.js';
import { resolveCliKeyFormat, type CliKeyFormat, type KeyFormatFlags } from './cli-key-format.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Where and how the CLI reaches the keys. */
export interface CliConnection {
  dataSource: DataSourceOptions;
  tableName?: string;
  /** The flags that choose the keys it issues, held to the format the app recorded. */
  flags: KeyFormatFlags;
  /** Features a command needs (`import`: the import feature, whose table the boot check then requires). */
  features?: ApiKeyFeature[];
}

/** What a command works with. */
export interface CliSession {
  readonly service: ApiKeyService;
  readonly dataSource: DataSource;
  /** How keys are issued here: the app's recorded format, or a refusal naming the fix. */
  readonly format: CliKeyFormat;
  /** A provider of the session's features (the importer). */
  get<T>(type: Type<T>): T;
}

@Module({})
class ApiKeyCliModule {}

/**
 * Runs `work` with an `ApiKeyService` in a Nest application context on the
 * host's database (its own connection, with only the key entities and the
 * last-address feature's (read only when its table exists), no
 * synchronize, no migrations), then closes it. The service follows the key
 * format the app recorded at boot (prefix, environments, lifetimes, entropy,
 * tag), read on that connection before the module starts; the CLI's own
 * module never records one.
 * @throws CliError (database unavailable) when the database cannot be reached
 * @throws ApiKeyConfigurationError when the key tables are missing (the module's boot check)
 */
export async function withApiKeyService<T>(
  connection: CliConnection,
  work: (session: CliSession) => Promise<T>,
): Promise<T> {
  let app: INestApplicationContext;
  let opened: DataSource | undefined;
  let format: CliKeyFormat | undefined;
  let readError: unknown;
  const readFormat = async (dataSource: DataSource) => {
    const events = apiKeyEventEntityFor(connection.tableName);
    let recorded: RecordedKeyFormat | undefined;
    try {
      recorded = await readKeyFormat(dataSource, events);
    } catch (error) {
      readError = error; // A missing table: the module's boot check names it, with the fix.
    }
    format = resolveCliKeyFormat(recorded, connection.flags, dataSource.getMetadata(events).tablePath);
    return format.options;
  };
  try {
    app = await NestFactory.createApplicationContext(
      {
        module: ApiKeyCliModule,
        imports: [
          TypeOrmModule.forRootAsync({
            useFactory: () =>
              ({
                ...connection.dataSource,
                // The last-address table's entity, so that `show` can read it where the app records it.
                entities: lastAddressEntities(connection.tableName),
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
          ApiKeyModule.forRootAsync({
            useFactory: readFormat,
            inject: [DataSource],
            ...(connection.tableName ? { tableName: connection.tableName } : {}),
            ...(connection.features ? { features: connection.features } : {}),
          }),
        ],
      },
      { logger: false, abortOnError: false },
    );
  } catch (error) {
    if (opened?.isInitialized) await opened.destroy();
    if (error instanceof ApiKeyConfigurationError || error instanceof CliError) throw error; // a bad --prefix / --table, or the schema (exitCodeOf)
    throw new CliError(`database unavailable: ${(error as Error).message}`, ExitCode.databaseUnavailable);
  }
  try {
    if (readError !== undefined) {
      const message = (readError as Error)?.message ?? String(readError);
      throw new CliError(`database unavailable: ${message}`, ExitCode.databaseUnavailable);
    }
    return await work({
      service: app.get(ApiKeyService),
      dataSource: app.get(DataSource),
      format: format!,
      get: (type) => app.get(type),
    });
  } finally {
    await app.close();
  }
}
