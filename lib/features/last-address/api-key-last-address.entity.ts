import { Column, Entity, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../storage/api-key.entity.js';

/**
 * Where one key was last used from: one row per key, upserted behind the request path. `address` is as the
 * feature keeps it: a whole address, or a network in CIDR notation with `truncate`.
 */
export abstract class ApiKeyLastAddressColumns {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  keyId!: string;

  /** `203.0.113.9`, `2001:db8::1`, or with `truncate` `203.0.113.0/24`, `2001:db8:85a3::/48`. */
  @Column({ type: 'varchar', length: 64 })
  address!: string;

  /** When the key was used from it (the request's time, not the write's). */
  @Column({ type: Date, precision: 3 })
  usedAt!: Date;
}

/** The injection token of the last-address entity class of a setup's key table. */
export const API_KEY_LAST_ADDRESS_ENTITY = Symbol('nestjs-opaque-keys:last-address-entity');

/** The default last-address table. */
export const DEFAULT_API_KEY_LAST_ADDRESS_TABLE = 'api_key_last_address';

/** The last-address entity beside the default `api_keys` table. */
@Entity(DEFAULT_API_KEY_LAST_ADDRESS_TABLE)
export class ApiKeyLastAddressEntity extends ApiKeyLastAddressColumns {}

const entities = new Map<string, typeof ApiKeyLastAddressColumns>([[DEFAULT_API_KEY_TABLE, ApiKeyLastAddressEntity]]);

/** The table's name for a key table: `<table>_last_address` (`api_key_last_address` for `api_keys`). */
export function lastAddressTableFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return keyTable === DEFAULT_API_KEY_TABLE ? DEFAULT_API_KEY_LAST_ADDRESS_TABLE : `${keyTable}_last_address`;
}

/** The last-address entity for a key table. */
export function apiKeyLastAddressEntityFor(keyTable: string = DEFAULT_API_KEY_TABLE): typeof ApiKeyLastAddressColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(lastAddressTableFor(keyTable))
    class NamedApiKeyLastAddressEntity extends ApiKeyLastAddressColumns {}
    Object.defineProperty(NamedApiKeyLastAddressEntity, 'name', { value: `ApiKeyLastAddressEntity_${keyTable}` });
    entity = NamedApiKeyLastAddressEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}

/**
 * The feature's entities on one key table, for a DataSource's `entities` when it does not use
 * `autoLoadEntities: true`.
 */
export function lastAddressEntities(keyTable: string = DEFAULT_API_KEY_TABLE): (typeof ApiKeyLastAddressColumns)[] {
  return [apiKeyLastAddressEntityFor(keyTable)];
}
