import { Column, Entity, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../storage/api-key.entity.js';

/** The outcomes counted per key: a verified request, or why a known key's request was refused. */
export type ApiKeyUsageOutcome = 'verified' | 'invalid' | 'forbidden' | 'rate_limited' | 'out_of_credits';

/** The key id under which requests with unknown, malformed or forged keys are counted (one row per bucket). */
export const UNKNOWN_KEYS_ID = '*';

/**
 * One usage count: requests of one key, in one hour (or day) bucket, with one
 * outcome. Written behind in batches by an upsert that adds to `count`.
 */
export abstract class ApiKeyUsageColumns {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  keyId!: string;

  /** The bucket's start, in hours since the Unix epoch (UTC); a day bucket starts at its midnight. */
  @PrimaryColumn({ type: 'integer' })
  hour!: number;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  outcome!: ApiKeyUsageOutcome;

  @Column({ type: 'integer' })
  count!: number;
}

/** The injection token of the usage entity class of a setup's key table. */
export const API_KEY_USAGE_ENTITY = Symbol('nestjs-opaque-keys:usage-entity');

/** The default usage table. */
export const DEFAULT_API_KEY_USAGE_TABLE = 'api_key_usage';

/** The usage entity beside the default `api_keys` table. */
@Entity(DEFAULT_API_KEY_USAGE_TABLE)
export class ApiKeyUsageEntity extends ApiKeyUsageColumns {}

const entities = new Map<string, typeof ApiKeyUsageColumns>([[DEFAULT_API_KEY_TABLE, ApiKeyUsageEntity]]);

/** The usage table's name for a key table: `<table>_usage` (`api_key_usage` for `api_keys`). */
export function usageTableFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return keyTable === DEFAULT_API_KEY_TABLE ? DEFAULT_API_KEY_USAGE_TABLE : `${keyTable}_usage`;
}

/**
 * The usage feature's entities on one key table, for a DataSource's `entities` when it does not use
 * `autoLoadEntities: true`.
 */
export function usageEntities(keyTable: string = DEFAULT_API_KEY_TABLE): (typeof ApiKeyUsageColumns)[] {
  return [apiKeyUsageEntityFor(keyTable)];
}

/** The usage entity for a key table. */
export function apiKeyUsageEntityFor(keyTable: string = DEFAULT_API_KEY_TABLE): typeof ApiKeyUsageColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(usageTableFor(keyTable))
    class NamedApiKeyUsageEntity extends ApiKeyUsageColumns {}
    Object.defineProperty(NamedApiKeyUsageEntity, 'name', { value: `ApiKeyUsageEntity_${keyTable}` });
    entity = NamedApiKeyUsageEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}
