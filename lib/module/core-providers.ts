import type { FactoryProvider, Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { API_KEY_OPTIONS, API_KEY_STORE } from '../api-key.constants.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import { CachedApiKeyStore } from '../cache/cached-api-key.store.js';
import { LookupCache } from '../cache/lookup-cache.js';
import { ApiKeyDatabase } from '../storage/api-key.database.js';
import { apiKeyEventEntityFor } from '../storage/api-key-event.entity.js';
import { apiKeyEntityFor } from '../storage/api-key.entity.js';
import { TypeOrmApiKeyStore, type ApiKeyStore, type StoredApiKey } from '../storage/api-key.store.js';
import { LookupStats } from '../storage/lookup-stats.js';
import type { ApiKeyFeature, ApiKeySetup } from './api-key-feature.js';

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
      ApiKeyDatabase.of(dataSource, setup.dataSource, { ...shape, schemaCheck: options.schemaCheck }),
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
      if (!cache) return new TypeOrmApiKeyStore(db.dataSource, db.keys, { coalesce, readFrom, batch, stats });
      // The cached store coalesces its own misses (see CachedApiKeyStore).
      const inner = new TypeOrmApiKeyStore(db.dataSource, db.keys, { readFrom, batch, stats });
      return new CachedApiKeyStore(inner, new LookupCache<StoredApiKey>(cache), coalesce, Date.now, stats);
    },
    inject: [ApiKeyDatabase, API_KEY_OPTIONS],
  };
}
