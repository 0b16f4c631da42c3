/**
 * `nestjs-opaque-keys/import`: import keys from Better Auth, djangorestframework-api-key or a hand-rolled SHA-256
 * table, and accept their formats for the imported keys, as a feature.
 * @module
 */
export { withImport } from './import.feature.js';
export {
  ApiKeyImporter,
  IMPORT_ROWS_PER_CHANGE,
  type ApiKeyImportReport,
  type ApiKeyImportRequest,
  type ApiKeyImportRefusal,
} from './api-key.importer.js';
export type { ApiKeyImportSource, ImportMapping } from './import-sources.js';
export {
  API_KEY_IMPORT_OPTIONS,
  betterAuthFormat,
  drfFormat,
  MAX_LEGACY_KEY_LENGTH,
  type ApiKeyImportOptions,
  type LegacyHashKind,
  type LegacyKeyFormat,
  type ResolvedImportOptions,
} from './import.options.js';
export { ImportedLegacyKeys } from './imported-legacy-keys.js';
export { lookupValueOf, nativeHashOf, verifyDjangoHash } from './legacy-hash.js';
export {
  ApiKeyImportColumns,
  apiKeyImportEntityFor,
  importEntities,
  importTableFor,
  DEFAULT_API_KEY_IMPORT_TABLE,
} from './api-key-import.entity.js';
export { importMigrations, AddImportsMigration } from './migrations/index.js';
