import { ConfigurableModuleBuilder, type InjectionToken, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { API_KEY_OPTIONS } from '../api-key.constants.js';
import type { ApiKeyModuleOptions } from '../api-key.options.js';
import type { ApiKeyModuleExtras } from './api-key.extras.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { ApiKeyChanges } from '../lifecycle/api-key.changes.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import { apiKeyEntities } from '../storage/api-key-entities.js';
import { DEFAULT_API_KEY_TABLE } from '../storage/api-key.entity.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { API_KEY_VERIFIER } from '../verification/key-verifier.js';
import { LastUsedRecorder } from '../verification/last-used.recorder.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import type { ApiKeyFeature, ApiKeySetup } from './api-key-feature.js';
import { featureEntities, featureExports, featureProviders, validateFeatures } from './api-key-features.js';
import { assertValidSetupName, namedSetupProviders } from './api-key.setups.js';
import { databaseProvider, storeProvider } from './core-providers.js';

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
  ApiKeyDatabase,
  ApiKeyCacheInvalidator,
  ApiKeyChanges,
  ApiKeyRateLimiter,
  ApiKeyVerifier,
  API_KEY_VERIFIER,
  LastUsedRecorder,
  ApiKeyGuard,
  ApiKeyService,
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
  const setup = setupOf(extras);
  const providers: Provider[] = [databaseProvider(setup, features), storeProvider(setup)];
  if (extras.globalGuard) providers.push({ provide: APP_GUARD, useExisting: ApiKeyGuard });
  providers.push(...featureProviders(features, setup));
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
