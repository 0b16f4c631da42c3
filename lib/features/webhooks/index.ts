/**
 * `nestjs-opaque-keys/webhooks`: lifecycle events POSTed to configured endpoints, signed per Standard Webhooks,
 * through a durable outbox written in the change's transaction; the dispatcher and the delivery log.
 * @module
 */
export { withWebhooks } from './webhooks.feature.js';
export {
  ApiKeyWebhookLog,
  type ApiKeyWebhookDelivery,
  type ListWebhookDeliveriesQuery,
  type PurgeWebhookDeliveriesOptions,
} from './api-key-webhook.log.js';
export { ApiKeyWebhookDispatcher } from './webhook-dispatcher.js';
export { ApiKeyWebhookOutbox } from './webhook-outbox.js';
export { WebhookDeliveryStore } from './webhook-delivery.store.js';
export { webhookPayload } from './webhook-payload.js';
export { sendWebhook, type WebhookAttemptResult } from './webhook-sender.js';
export { WebhookSigner } from './webhook-signer.js';
export {
  API_KEY_WEBHOOK_OPTIONS,
  resolveWebhookOptions,
  retryDelay,
  type ApiKeyWebhookEndpoint,
  type ApiKeyWebhookOptions,
  type ResolvedWebhookOptions,
} from './webhook.options.js';
export {
  ApiKeyWebhookDeliveryEntity,
  ApiKeyWebhookDeliveryColumns,
  apiKeyWebhookDeliveryEntityFor,
  webhookEntities,
  webhookDeliveriesTableFor,
  DEFAULT_API_KEY_WEBHOOK_DELIVERIES_TABLE,
  type ApiKeyWebhookDeliveryStatus,
} from './api-key-webhook-delivery.entity.js';
export { webhookMigrations, AddWebhooksMigration } from './migrations/index.js';
