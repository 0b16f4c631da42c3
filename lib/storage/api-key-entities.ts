import { apiKeyEventEntityFor, type ApiKeyEventColumns } from './api-key-event.entity.js';
import { apiKeyEntityFor, DEFAULT_API_KEY_TABLE, type ApiKeyColumns } from './api-key.entity.js';
import { apiKeyUsageEntityFor, type ApiKeyUsageColumns } from '../features/usage/api-key-usage.entity.js';
import {
  apiKeyWebhookDeliveryEntityFor,
  type ApiKeyWebhookDeliveryColumns,
} from '../features/webhooks/api-key-webhook-delivery.entity.js';

/** One of the library's entity classes. */
export type ApiKeyEntityClass =
  typeof ApiKeyColumns | typeof ApiKeyEventColumns | typeof ApiKeyUsageColumns | typeof ApiKeyWebhookDeliveryColumns;

/**
 * Every entity the library needs on one key table: the keys, their audit
 * events (`<table>_events`), their usage counts (`<table>_usage`) and the
 * webhook deliveries (`<table>_webhook_deliveries`, `api_key_webhook_deliveries` for `api_keys`). List them in your DataSource's `entities` when you
 * do not use `autoLoadEntities: true`; the module checks at boot that each one
 * is registered.
 * @example
 * TypeOrmModule.forRoot({ type: 'postgres', url, entities: [...apiKeyEntities(), ...yourEntities] })
 * // with ApiKeyModule.forRoot({ tableName: 'service_keys' }):
 * TypeOrmModule.forRoot({ type: 'postgres', url, entities: [...apiKeyEntities('service_keys'), ...yourEntities] })
 */
export function apiKeyEntities(tableName: string = DEFAULT_API_KEY_TABLE): ApiKeyEntityClass[] {
  return [
    apiKeyEntityFor(tableName),
    apiKeyEventEntityFor(tableName),
    apiKeyUsageEntityFor(tableName),
    apiKeyWebhookDeliveryEntityFor(tableName),
  ];
}

/** {@link apiKeyEntities} of the default `api_keys` table: `[ApiKeyEntity, ApiKeyEventEntity, ApiKeyUsageEntity, ApiKeyWebhookDeliveryEntity]`. */
export const API_KEY_ENTITIES: readonly ApiKeyEntityClass[] = Object.freeze(apiKeyEntities());
