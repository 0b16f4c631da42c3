/**
 * `nestjs-opaque-keys/last-address`: where each key was last used from, as a feature.
 * @module
 */
export { withLastAddress } from './last-address.feature.js';
export { ApiKeyLastAddressRecorder, LAST_ADDRESS_ROWS_PER_STATEMENT } from './last-address.recorder.js';
export { ApiKeyLastAddress, readLastAddress, type ApiKeyLastUse } from './api-key-last-address.reader.js';
export {
  ApiKeyLastAddressEntity,
  ApiKeyLastAddressColumns,
  apiKeyLastAddressEntityFor,
  lastAddressTableFor,
  lastAddressEntities,
  DEFAULT_API_KEY_LAST_ADDRESS_TABLE,
} from './api-key-last-address.entity.js';
export { storedAddressOf, TRUNCATED_PREFIXES, type AddressPrefixes } from './client-address.js';
export {
  API_KEY_LAST_ADDRESS_OPTIONS,
  resolveLastAddressOptions,
  type ApiKeyLastAddressOptions,
  type ResolvedLastAddressOptions,
} from './last-address.options.js';
export { lastAddressMigrations, AddLastAddressMigration } from './migrations/index.js';
