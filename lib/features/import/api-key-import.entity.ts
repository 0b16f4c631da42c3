import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../storage/api-key.entity.js';

/**
 * Where an imported key came from: its source and the source's id for it (a re-run finds it by them), a
 * fingerprint of what was imported (a re-run reports a row that changed since), and, for a source whose hash the
 * library cannot compute, that hash until the key's first use upgrades it.
 */
export abstract class ApiKeyImportColumns {
  /** The imported key's id in the key table. */
  @PrimaryColumn({ type: 'varchar', length: 36 })
  keyId!: string;

  /** The legacy format's name (`better-auth`, `drf`...). */
  @Column({ type: 'varchar', length: 32 })
  source!: string;

  /** The source system's id of the key. */
  @Column({ type: 'varchar', length: 255 })
  sourceId!: string;

  /** SHA-256 (hex) of the imported fields, to tell a changed source row on a re-run. */
  @Column({ type: 'varchar', length: 64 })
  fingerprint!: string;

  /** The source's hash (a Django hasher string) until the first use upgrades the key; then `null`. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  foreignHash!: string | null;

  @Column({ type: Date, precision: 3 })
  importedAt!: Date;
}

/** The injection token of the import entity class of a setup's key table. */
export const API_KEY_IMPORT_ENTITY = Symbol('nestjs-opaque-keys:import-entity');

/** The default import table. */
export const DEFAULT_API_KEY_IMPORT_TABLE = 'api_key_imports';

/** The import table's name for a key table: `<table>_imports` (`api_key_imports` for `api_keys`). */
export function importTableFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return keyTable === DEFAULT_API_KEY_TABLE ? DEFAULT_API_KEY_IMPORT_TABLE : `${keyTable}_imports`;
}

/** The unique index of a source's ids. */
export function importSourceIndexFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return `IDX_${importTableFor(keyTable)}_source`;
}

const entities = new Map<string, typeof ApiKeyImportColumns>();

/** The import entity for a key table. */
export function apiKeyImportEntityFor(keyTable: string = DEFAULT_API_KEY_TABLE): typeof ApiKeyImportColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(importTableFor(keyTable))
    @Index(importSourceIndexFor(keyTable), ['source', 'sourceId'], { unique: true })
    class NamedApiKeyImportEntity extends ApiKeyImportColumns {}
    Object.defineProperty(NamedApiKeyImportEntity, 'name', {
      value: keyTable === DEFAULT_API_KEY_TABLE ? 'ApiKeyImportEntity' : `ApiKeyImportEntity_${keyTable}`,
    });
    entity = NamedApiKeyImportEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}

/**
 * The import feature's entities on one key table, for a DataSource's `entities` when it does not use
 * `autoLoadEntities: true`.
 */
export function importEntities(keyTable: string = DEFAULT_API_KEY_TABLE): (typeof ApiKeyImportColumns)[] {
  return [apiKeyImportEntityFor(keyTable)];
}
