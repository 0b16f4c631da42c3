import { apiKeyEventEntityFor, type ApiKeyEventColumns } from './api-key-event.entity.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE, type ApiKeyColumns } from './api-key.entity.js';

/** One of the core's entity classes. */
export type ApiKeyEntityClass = typeof ApiKeyColumns | typeof ApiKeyEventColumns;

/**
 * The core's entities on one key table: the keys and their audit trail (`<table>_events`, `api_key_events` for
 * `api_keys`). List them in your DataSource's `entities` when you do not use `autoLoadEntities: true`, with the
 * entities of the features you switch on (e.g. `usageEntities()`); the module checks at boot that each one is
 * registered.
 * @example
 * TypeOrmModule.forRoot({ type: 'postgres', url, entities: [...apiKeyEntities(), ...yourEntities] })
 * // with ApiKeyModule.forRoot({ tableName: 'service_keys' }):
 * TypeOrmModule.forRoot({ type: 'postgres', url, entities: [...apiKeyEntities('service_keys'), ...yourEntities] })
 */
export function apiKeyEntities(tableName: string = DEFAULT_API_KEY_TABLE): ApiKeyEntityClass[] {
  return [apiKeyEntityFor(tableName), apiKeyEventEntityFor(tableName)];
}

/** {@link apiKeyEntities} of the default `api_keys` table: `[ApiKeyEntity, ApiKeyEventEntity]`. */
export const API_KEY_ENTITIES: readonly ApiKeyEntityClass[] = Object.freeze(apiKeyEntities());
