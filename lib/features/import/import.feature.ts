import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import { API_KEY_IMPORT_ENTITY, apiKeyImportEntityFor, importEntities } from './api-key-import.entity.js';
import { ApiKeyImporter } from './api-key.importer.js';
import { API_KEY_IMPORT_OPTIONS, resolveImportOptions, type ApiKeyImportOptions } from './import.options.js';
import { ImportedLegacyKeys } from './imported-legacy-keys.js';
import { importMigrations } from './migrations/index.js';

/**
 * Keys moved in from another system (Better Auth, djangorestframework-api-key, a hand-rolled SHA-256 table)
 * keep working with the strings their holders have: {@link ApiKeyImporter} imports the rows, and the guard
 * accepts the listed legacy formats for imported keys only. Brings the import table (`importMigrations`).
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withImport({ formats: [betterAuthFormat({ prefix: 'ba_' })] })] })
 */
export function withImport(options: ApiKeyFeatureOptionsInput<ApiKeyImportOptions>): ApiKeyFeature {
  return {
    name: 'import',
    providers: (setup) => [
      featureOptionsProvider(API_KEY_IMPORT_OPTIONS, options, resolveImportOptions),
      { provide: API_KEY_IMPORT_ENTITY, useValue: apiKeyImportEntityFor(setup.tableName) },
      ImportedLegacyKeys,
      ApiKeyImporter,
    ],
    exports: [ApiKeyImporter],
    tables: { entities: importEntities, migrations: importMigrations },
    legacyKeys: ImportedLegacyKeys,
  };
}
