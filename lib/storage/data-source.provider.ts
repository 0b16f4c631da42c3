import type { FactoryProvider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { API_KEY_DATA_SOURCE } from '../api-key.constants.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';

/** The boot error when the host app has no TypeORM DataSource of that name. */
export function noDataSourceMessage(name: string | undefined): string {
  if (name === undefined || name === 'default') {
    return (
      'nestjs-opaque-keys: ApiKeyModule found no TypeORM DataSource. ' +
      'Import TypeOrmModule.forRoot({ type: ..., autoLoadEntities: true, ... }) (or forRootAsync) in your app module, ' +
      'beside ApiKeyModule.forRoot(); the library uses your connection and never opens its own.'
    );
  }
  return (
    `nestjs-opaque-keys: ApiKeyModule.forRoot({ dataSource: ${JSON.stringify(name)} }) found no TypeORM DataSource ` +
    `named ${JSON.stringify(name)}. Import TypeOrmModule.forRoot({ name: ${JSON.stringify(name)}, ... }) in your app ` +
    'module, or drop the dataSource option to use the default DataSource.'
  );
}

/**
 * The host's DataSource under the library's own token, or a boot error that
 * names `TypeOrmModule.forRoot()` instead of Nest's generic "can't resolve
 * dependencies".
 */
export function dataSourceProvider(name: string | undefined): FactoryProvider<DataSource> {
  return {
    provide: API_KEY_DATA_SOURCE,
    useFactory: (dataSource: DataSource | undefined) => {
      if (!dataSource) throw new ApiKeyConfigurationError(noDataSourceMessage(name));
      return dataSource;
    },
    inject: [{ token: getDataSourceToken(name), optional: true }],
  };
}
