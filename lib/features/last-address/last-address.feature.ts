import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import {
  API_KEY_LAST_ADDRESS_ENTITY,
  apiKeyLastAddressEntityFor,
  lastAddressEntities,
} from './api-key-last-address.entity.js';
import { ApiKeyLastAddress } from './api-key-last-address.reader.js';
import { ApiKeyLastAddressRecorder } from './last-address.recorder.js';
import {
  API_KEY_LAST_ADDRESS_OPTIONS,
  resolveLastAddressOptions,
  type ApiKeyLastAddressOptions,
} from './last-address.options.js';
import { lastAddressMigrations } from './migrations/index.js';

/**
 * Where each key was last used from, beside its `lastUsedAt`: the client's address as the transport gives it
 * (`req.ip`; never a header the adapter does not trust), noted in memory on the request path and written
 * behind, one upsert per flush; read with {@link ApiKeyLastAddress}, shown by the admin console's key page and
 * the CLI's `show`. Off unless listed; `truncate: true` keeps only a /24 (IPv4) or /48 (IPv6). Brings its
 * table (`lastAddressMigrations`), checked at boot.
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withLastAddress({ truncate: true })] })
 */
export function withLastAddress(options: ApiKeyFeatureOptionsInput<ApiKeyLastAddressOptions> = {}): ApiKeyFeature {
  return {
    name: 'last-address',
    providers: (setup) => [
      featureOptionsProvider(API_KEY_LAST_ADDRESS_OPTIONS, options, resolveLastAddressOptions),
      { provide: API_KEY_LAST_ADDRESS_ENTITY, useValue: apiKeyLastAddressEntityFor(setup.tableName) },
      ApiKeyLastAddressRecorder,
      ApiKeyLastAddress,
    ],
    exports: [ApiKeyLastAddressRecorder, ApiKeyLastAddress],
    tables: { entities: lastAddressEntities, migrations: lastAddressMigrations },
    verificationHook: ApiKeyLastAddressRecorder,
  };
}
