import { ConfigurableModuleBuilder, type FactoryProvider, type InjectionToken, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import {
  API_KEY_CHANGE_HOOKS,
  API_KEY_OPTIONS,
  API_KEY_STORE,
  API_KEY_VERIFICATION_HOOKS,
  API_KEY_LEGACY_KEYS,
} from '../api-key.constants.js';
import type { ApiKeyModuleOptions, ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyModuleExtras } from './api-key.extras.js';
import { ApiKeyCacheInvalidator } from '../cache/api-key.cache-invalidator.js';
import { ApiKeyGuard } from '../http/api-key.guard.js';
import { ApiKeyChanges } from '../lifecycle/api-key.changes.js';
import { API_KEY_LIFECYCLE_EVENT_TYPES } from '../lifecycle/api-key-lifecycle.event.js';
import { ApiKeyService } from '../lifecycle/api-key.service.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import { apiKeyEntities } from '../storage/api-key-entities.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE } from '../storage/api-key.entity.js';
import { ApiKeyVerifier } from '../verification/api-key.verifier.js';
import { API_KEY_VERIFIER } from '../verification/key-verifier.js';
import { LastUsedRecorder } from '../verification/write-behind.js';
import { ApiKeyRateLimiter } from '../verification/rate-limiter.js';
import type { ApiKeyFeature, ApiKeyFeatureEntity, ApiKeySetup } from './api-key-feature.js';
import { assertValidSetupName, namedSetupProviders } from './api-key.setups.js';
import type { DataSource } from 'typeorm';
import { CachedApiKeyStore } from '../cache/cached-api-key.store.js';
import { LookupCache } from '../cache/lookup-cache.js';
import { apiKeyEventEntityFor } from '../storage/api-key-event.entity.js';
import { type ApiKeyStore, type StoredApiKey, TypeOrmApiKeyStore } from '../storage/api-key.store.js';
import { LookupStats } from '../storage/lookup-stats.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { ApiKeyChangeHook } from '../lifecycle/change-hook.js';
import type { ApiKeyVerificationHook } from '../verification/verification-hook.js';

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
  const features = Array.isArray(extras.features) ? (extras.features as readonly Partial<ApiKeyFeature>[]) : [];
  const eventTypes = [...API_KEY_LIFECYCLE_EVENT_TYPES, ...features.flatMap((feature) => feature?.eventTypes ?? [])];
  return {
    tableName: extras.tableName ?? DEFAULT_API_KEY_TABLE,
    dataSource: extras.dataSource,
    name: extras.name,
    eventTypes: Object.freeze(eventTypes),
  };
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

/**
 * The setup's {@link ApiKeyDatabase}: the host's DataSource (named by `dataSource`), the setup's tables and the
 * features' tables, checked at boot.
 */
export function databaseProvider(setup: ApiKeySetup, features: readonly ApiKeyFeature[]): FactoryProvider {
  const shape = {
    keys: apiKeyEntityFor(setup.tableName),
    events: apiKeyEventEntityFor(setup.tableName),
    featureTables: features.flatMap((feature) => (feature.tables ? [feature.tables] : [])),
  };
  return {
    provide: ApiKeyDatabase,
    useFactory: (dataSource: DataSource | undefined, options: ResolvedApiKeyOptions) =>
      ApiKeyDatabase.of(dataSource, setup.dataSource, { ...shape, schemaCheck: options.schemaCheck }, options),
    // Optional: without TypeORM, the database names the fix rather than Nest's "can't resolve dependencies".
    inject: [{ token: getDataSourceToken(setup.dataSource), optional: true }, API_KEY_OPTIONS],
  };
}

/**
 * The hot path's store: the TypeORM lookup (prepared, batched per driver), with the lookup cache in front when
 * the `cache` option is on. Its {@link LookupStats} (cache hits and misses, batch sizes) are the setup's.
 */
export function storeProvider(setup: ApiKeySetup): Provider {
  return {
    provide: API_KEY_STORE,
    useFactory: (db: ApiKeyDatabase, options: ResolvedApiKeyOptions): ApiKeyStore => {
      const stats = new LookupStats(setup.name);
      const { readFrom, batchLookups: batch, coalesceLookups: coalesce, cache } = options;
      const replicaLag = db.replicaLag;
      stats.replicaLag = replicaLag;
      if (!cache)
        return new TypeOrmApiKeyStore(db.dataSource, db.keys, { coalesce, readFrom, batch, stats, replicaLag });
      // The cached store coalesces its own misses (see CachedApiKeyStore).
      const inner = new TypeOrmApiKeyStore(db.dataSource, db.keys, { readFrom, batch, stats, replicaLag });
      return new CachedApiKeyStore(inner, new LookupCache<StoredApiKey>(cache), coalesce, Date.now, stats);
    },
    inject: [ApiKeyDatabase, API_KEY_OPTIONS],
  };
}

/** Checks the `features` option: an array of feature objects, each name once. */
export function validateFeatures(features: unknown): readonly ApiKeyFeature[] {
  if (features === undefined) return [];
  if (!Array.isArray(features))
    throw new ApiKeyConfigurationError('features must be an array, e.g. features: [withUsage()]', 'features');
  const names = new Set<string>();
  features.forEach((feature: Partial<ApiKeyFeature> | null, index) => {
    if (typeof feature?.name !== 'string' || feature.name === '')
      throw new ApiKeyConfigurationError(
        `features[${index}] is not a feature: pass what a feature's function returns, e.g. withUsage()`,
        `features[${index}]`,
      );
    if (names.has(feature.name))
      throw new ApiKeyConfigurationError(`features lists ${feature.name} twice`, `features[${index}]`);
    names.add(feature.name);
  });
  const legacy = (features as ApiKeyFeature[]).filter((feature) => feature.legacyKeys);
  if (legacy.length > 1)
    throw new ApiKeyConfigurationError(
      `features ${legacy.map((feature) => feature.name).join(' and ')} both accept other systems' key formats: list one`,
      'features',
    );
  return features as ApiKeyFeature[];
}

/** Every table the features of a setup bring. */
export function featureEntities(features: readonly ApiKeyFeature[], setup: ApiKeySetup): ApiKeyFeatureEntity[] {
  return features.flatMap((feature) => feature.tables?.entities(setup.tableName) ?? []);
}

/**
 * The providers the features add to a setup: their own, and their change and verification hooks, resolved.
 * Nothing at all for a setup without features. (Their tables are checked by the setup's `ApiKeyDatabase`.)
 */
export function featureProviders(features: readonly ApiKeyFeature[], setup: ApiKeySetup): Provider[] {
  if (features.length === 0) return [];
  const change = features.flatMap((feature) => (feature.changeHook ? [feature.changeHook] : []));
  const verification = features.flatMap((feature) => (feature.verificationHook ? [feature.verificationHook] : []));
  const hooks: Provider[] = [
    {
      provide: API_KEY_CHANGE_HOOKS,
      useFactory: (...found: ApiKeyChangeHook[]) => Object.freeze(found),
      inject: change as InjectionToken[],
    },
    {
      provide: API_KEY_VERIFICATION_HOOKS,
      useFactory: (...found: ApiKeyVerificationHook[]) => Object.freeze(found),
      inject: verification as InjectionToken[],
    },
  ];
  // The one feature that accepts other systems' key formats, if any: the verifier consults it.
  const legacy = features.find((feature) => feature.legacyKeys)?.legacyKeys;
  if (legacy) hooks.push({ provide: API_KEY_LEGACY_KEYS, useExisting: legacy });
  return [...features.flatMap((feature) => feature.providers?.(setup) ?? []), ...hooks];
}

/**
 * What the features of an unnamed setup export: theirs, and the hooks (a guard bound with `@UseGuards` in
 * another module is built there, and must find them).
 */
export function featureExports(features: readonly ApiKeyFeature[]): InjectionToken[] {
  if (features.length === 0) return [];
  return [
    API_KEY_CHANGE_HOOKS,
    API_KEY_VERIFICATION_HOOKS,
    ...(features.some((feature) => feature.legacyKeys) ? [API_KEY_LEGACY_KEYS] : []),
    ...features.flatMap((feature) => [...(feature.exports ?? [])]),
  ];
}
