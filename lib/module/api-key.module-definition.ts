import { ConfigurableModuleBuilder, type InjectionToken, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import {
  API_KEY_CACHE,
  API_KEY_DATA_SOURCE,
  API_KEY_ENTITY,
  API_KEY_EVENT_ENTITY,
  API_KEY_LOOKUP_STATS,
  API_KEY_OPTIONS,
  API_KEY_STORE,
} from '../api-key.constants.js';
import { apiKeyEventEntityFor } from '../storage/api-key-event.entity.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE, type ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyCredits } from '../lifecycle/api-key.credits.js';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { assertValidSetupName, namedSetupProviders } from './api-key.setups.js';
import { ApiKeyAuditLog } from '../lifecycle/api-key-audit.log.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { API_KEY_VERIFIER } from '../verification/key-verifier.js';
import { LastUsedRecorder } from '../verification/last-used.recorder.js';
import type { ApiKeyModuleExtras, ApiKeyModuleOptions, ResolvedApiKeyOptions } from '../api-key.options.js';
import { TypeOrmApiKeyStore, type StoredApiKey } from '../storage/api-key.store.js';
import { CachedApiKeyStore } from '../cache/cached-api-key.store.js';
import { LookupCache } from '../cache/lookup-cache.js';
import { LookupStats } from '../storage/lookup-stats.js';
import { dataSourceProvider } from '../storage/data-source.provider.js';
import { apiKeyEntities } from '../storage/api-key-entities.js';
import type { ApiKeyFeature, ApiKeySetup } from './api-key-feature.js';
import { featureEntities, featureExports, featureProviders, validateFeatures } from './api-key-features.js';

const DEFAULT_EXTRAS: Required<Omit<ApiKeyModuleExtras, 'dataSource' | 'name' | 'features'>> &
  Pick<ApiKeyModuleExtras, 'dataSource' | 'name' | 'features'> = {
  isGlobal: true,
  globalGuard: false,
  dataSource: undefined,
  tableName: DEFAULT_API_KEY_TABLE,
  name: undefined,
  features: undefined,
};

/** The setup a feature is built for. */
function setupOf(extras: ApiKeyModuleExtras): ApiKeySetup {
  return { tableName: extras.tableName ?? DEFAULT_API_KEY_TABLE, dataSource: extras.dataSource, name: extras.name };
}

/** What an unnamed setup exports: the class tokens. */
const DEFAULT_EXPORTS = [
  ApiKeyCacheInvalidator,
  ApiKeyAuditLog,
  ApiKeyRateLimiter,
  ApiKeyVerifier,
  API_KEY_VERIFIER,
  LastUsedRecorder,
  ApiKeyGuard,
  ApiKeyService,
  ApiKeyCredits,
  API_KEY_OPTIONS,
];

/**
 * A named setup exports only its named tokens: another setup's module (or a
 * global one) can then never be resolved in its place, nor it in theirs.
 */
function exportsFor(
  extras: ApiKeyModuleExtras,
  features: readonly ApiKeyFeature[],
): { providers: Provider[]; exports: (Provider | InjectionToken)[] } {
  if (extras.name === undefined) return { providers: [], exports: [...DEFAULT_EXPORTS, ...featureExports(features)] };
  assertValidSetupName(extras.name);
  const providers = namedSetupProviders(extras.name);
  return { providers, exports: providers.map((provider) => provider.provide) };
}

function providersFor(extras: ApiKeyModuleExtras, features: readonly ApiKeyFeature[]): Provider[] {
  const entity = apiKeyEntityFor(extras.tableName);
  const providers: Provider[] = [
    { provide: API_KEY_ENTITY, useValue: entity },
    { provide: API_KEY_EVENT_ENTITY, useValue: apiKeyEventEntityFor(extras.tableName) },
    dataSourceProvider(extras.dataSource),
    {
      provide: API_KEY_CACHE,
      useFactory: ({ cache }: ResolvedApiKeyOptions) => (cache ? new LookupCache<StoredApiKey>(cache) : null),
      inject: [API_KEY_OPTIONS],
    },
    { provide: API_KEY_LOOKUP_STATS, useFactory: () => new LookupStats(extras.name) },
    {
      provide: API_KEY_STORE,
      useFactory: (
        dataSource: DataSource,
        keyEntity: typeof ApiKeyColumns,
        options: ResolvedApiKeyOptions,
        cache: LookupCache<StoredApiKey> | null,
        stats: LookupStats,
      ) =>
        cache
          ? // The cached store coalesces its own misses (see CachedApiKeyStore).
            new CachedApiKeyStore(
              new TypeOrmApiKeyStore(dataSource, keyEntity, {
                readFrom: options.readFrom,
                batch: options.batchLookups,
                stats,
              }),
              cache,
              options.coalesceLookups,
              Date.now,
              stats,
            )
          : new TypeOrmApiKeyStore(dataSource, keyEntity, {
              coalesce: options.coalesceLookups,
              readFrom: options.readFrom,
              batch: options.batchLookups,
              stats,
            }),
      inject: [API_KEY_DATA_SOURCE, API_KEY_ENTITY, API_KEY_OPTIONS, API_KEY_CACHE, API_KEY_LOOKUP_STATS],
    },
  ];
  if (extras.globalGuard) providers.push({ provide: APP_GUARD, useExisting: ApiKeyGuard });
  providers.push(...featureProviders(features, setupOf(extras)));
  return providers;
}

/** @internal Built by Nest's ConfigurableModuleBuilder: `forRoot` / `forRootAsync`. */
export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<ApiKeyModuleOptions>({ moduleName: 'ApiKey' })
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createApiKeyOptions')
    .setExtras<ApiKeyModuleExtras>(DEFAULT_EXTRAS, (definition, extras) => {
      const merged = { ...DEFAULT_EXTRAS, ...extras };
      const features = validateFeatures(merged.features);
      const shared = exportsFor(merged, features);
      // Registers the entities for the host's `autoLoadEntities`. Its repository
      // providers are not imported: the library uses the DataSource itself, and
      // without TypeORM they would fail with Nest's generic "can't resolve
      // dependencies" before dataSourceProvider could name the fix.
      TypeOrmModule.forFeature(
        [...apiKeyEntities(merged.tableName), ...featureEntities(features, setupOf(merged))],
        merged.dataSource,
      );
      return {
        ...definition,
        exports: [...(definition.exports ?? []), ...shared.exports],
        global: merged.isGlobal,
        providers: [...(definition.providers ?? []), ...providersFor(merged, features), ...shared.providers],
      };
    })
    .build();
