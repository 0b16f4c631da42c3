import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  API_KEY_CACHE,
  API_KEY_DATA_SOURCE,
  API_KEY_ENTITY,
  API_KEY_EVENT_ENTITY,
  API_KEY_OPTIONS,
  API_KEY_STORE,
  API_KEY_USAGE_ENTITY,
} from './api-key.constants.js';
import { apiKeyUsageEntityFor } from './storage/api-key-usage.entity.js';
import { apiKeyEventEntityFor } from './storage/api-key-event.entity.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE, type ApiKeyColumns } from './storage/api-key.entity.js';
import { ApiKeyGuard } from './http/api-key.guard.js';
import type { ApiKeyModuleExtras, ApiKeyModuleOptions, ResolvedApiKeyOptions } from './api-key.options.js';
import { TypeOrmApiKeyStore, type StoredApiKey } from './storage/api-key.store.js';
import { CachedApiKeyStore } from './cache/cached-api-key.store.js';
import { LookupCache } from './cache/lookup-cache.js';

const DEFAULT_EXTRAS: Required<Omit<ApiKeyModuleExtras, 'dataSource'>> & Pick<ApiKeyModuleExtras, 'dataSource'> = {
  isGlobal: true,
  globalGuard: false,
  dataSource: undefined,
  tableName: DEFAULT_API_KEY_TABLE,
};

function providersFor(extras: ApiKeyModuleExtras): Provider[] {
  const entity = apiKeyEntityFor(extras.tableName);
  const providers: Provider[] = [
    { provide: API_KEY_ENTITY, useValue: entity },
    { provide: API_KEY_EVENT_ENTITY, useValue: apiKeyEventEntityFor(extras.tableName) },
    { provide: API_KEY_USAGE_ENTITY, useValue: apiKeyUsageEntityFor(extras.tableName) },
    { provide: API_KEY_DATA_SOURCE, useExisting: getDataSourceToken(extras.dataSource) },
    {
      provide: API_KEY_CACHE,
      useFactory: ({ cache }: ResolvedApiKeyOptions) => (cache ? new LookupCache<StoredApiKey>(cache) : null),
      inject: [API_KEY_OPTIONS],
    },
    {
      provide: API_KEY_STORE,
      useFactory: (
        dataSource: DataSource,
        keyEntity: typeof ApiKeyColumns,
        options: ResolvedApiKeyOptions,
        cache: LookupCache<StoredApiKey> | null,
      ) =>
        cache
          ? // The cached store coalesces its own misses (see CachedApiKeyStore).
            new CachedApiKeyStore(
              new TypeOrmApiKeyStore(dataSource, keyEntity, {
                readFrom: options.readFrom,
                batch: options.batchLookups,
              }),
              cache,
              options.coalesceLookups,
            )
          : new TypeOrmApiKeyStore(dataSource, keyEntity, {
              coalesce: options.coalesceLookups,
              readFrom: options.readFrom,
              batch: options.batchLookups,
            }),
      inject: [API_KEY_DATA_SOURCE, API_KEY_ENTITY, API_KEY_OPTIONS, API_KEY_CACHE],
    },
  ];
  if (extras.globalGuard) providers.push({ provide: APP_GUARD, useExisting: ApiKeyGuard });
  return providers;
}

/** @internal Built by Nest's ConfigurableModuleBuilder: `forRoot` / `forRootAsync`. */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<ApiKeyModuleOptions>({ moduleName: 'ApiKey' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createApiKeyOptions')
    .setExtras<ApiKeyModuleExtras>(DEFAULT_EXTRAS, (definition, extras) => {
      const merged = { ...DEFAULT_EXTRAS, ...extras };
      return {
        ...definition,
        global: merged.isGlobal,
        imports: [
          ...(definition.imports ?? []),
          TypeOrmModule.forFeature(
            [
              apiKeyEntityFor(merged.tableName),
              apiKeyEventEntityFor(merged.tableName),
              apiKeyUsageEntityFor(merged.tableName),
            ],
            merged.dataSource,
          ),
        ],
        providers: [...(definition.providers ?? []), ...providersFor(merged)],
      };
    })
    .build();
