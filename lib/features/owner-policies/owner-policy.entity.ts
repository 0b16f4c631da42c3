import { Column, Entity, PrimaryColumn } from 'typeorm';
import { DEFAULT_API_KEY_TABLE } from '../../storage/api-key.entity.js';

/**
 * One owner's policy (or the default's, owner `'*'`): the rules as JSON text, and who set them when.
 * Read with the key rows by the change hook; written only by `ApiKeyOwnerPolicies`.
 */
export abstract class ApiKeyOwnerPolicyColumns {
  /** The owner, as keys' `ownerId`; `'*'` for the default policy. */
  @PrimaryColumn({ type: 'varchar', length: 255 })
  ownerId!: string;

  /** The policy (`OwnerPolicy`) as JSON text, read and checked by the library. */
  @Column({ type: 'text' })
  policy!: string;

  @Column({ type: Date, precision: 3 })
  updatedAt!: Date;

  /** Who set it, as the caller said (`actor`), or `null`. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  updatedBy!: string | null;
}

/** The injection token of the policy entity class of a setup's key table. */
export const API_KEY_OWNER_POLICY_ENTITY = Symbol('nestjs-opaque-keys:owner-policy-entity');

/** The default policy table. */
export const DEFAULT_API_KEY_OWNER_POLICY_TABLE = 'api_key_owner_policies';

/** The policy entity beside the default `api_keys` table. */
@Entity(DEFAULT_API_KEY_OWNER_POLICY_TABLE)
export class ApiKeyOwnerPolicyEntity extends ApiKeyOwnerPolicyColumns {}

const entities = new Map<string, typeof ApiKeyOwnerPolicyColumns>([[DEFAULT_API_KEY_TABLE, ApiKeyOwnerPolicyEntity]]);

/** The policy table's name for a key table: `<table>_owner_policies` (`api_key_owner_policies` for `api_keys`). */
export function ownerPolicyTableFor(keyTable: string = DEFAULT_API_KEY_TABLE): string {
  return keyTable === DEFAULT_API_KEY_TABLE ? DEFAULT_API_KEY_OWNER_POLICY_TABLE : `${keyTable}_owner_policies`;
}

/** The policy entity for a key table. */
export function apiKeyOwnerPolicyEntityFor(keyTable: string = DEFAULT_API_KEY_TABLE): typeof ApiKeyOwnerPolicyColumns {
  let entity = entities.get(keyTable);
  if (!entity) {
    @Entity(ownerPolicyTableFor(keyTable))
    class NamedApiKeyOwnerPolicyEntity extends ApiKeyOwnerPolicyColumns {}
    Object.defineProperty(NamedApiKeyOwnerPolicyEntity, 'name', { value: `ApiKeyOwnerPolicyEntity_${keyTable}` });
    entity = NamedApiKeyOwnerPolicyEntity;
    entities.set(keyTable, entity);
  }
  return entity;
}

/**
 * The owner-policies feature's entities on one key table, for a DataSource's `entities` when it does not use
 * `autoLoadEntities: true`.
 */
export function ownerPolicyEntities(keyTable: string = DEFAULT_API_KEY_TABLE): (typeof ApiKeyOwnerPolicyColumns)[] {
  return [apiKeyOwnerPolicyEntityFor(keyTable)];
}
