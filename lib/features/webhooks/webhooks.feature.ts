import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import {
  API_KEY_WEBHOOK_ENTITY,
  apiKeyWebhookDeliveryEntityFor,
  webhookEntities,
} from './api-key-webhook-delivery.entity.js';
import { webhookMigrations } from './migrations/index.js';
import { ApiKeyWebhookLog } from './api-key-webhook.log.js';
import { WebhookDeliveryStore } from './webhook-delivery.store.js';
import { ApiKeyWebhookDispatcher } from './webhook-dispatcher.js';
import { ApiKeyWebhookOutbox } from './webhook-outbox.js';
import { API_KEY_WEBHOOK_OPTIONS, resolveWebhookOptions, type ApiKeyWebhookOptions } from './webhook.options.js';

/**
 * Outgoing webhooks: every lifecycle event POSTed to the host's endpoints, signed per Standard Webhooks (needs
 * the `standardwebhooks` package), through an outbox written in the change's transaction: at least once,
 * retried with backoff, listed and redelivered with {@link ApiKeyWebhookLog}. Brings the delivery table
 * (`webhookMigrations`), checked at boot. See docs/webhooks.md.
 * @example
 * ApiKeyModule.forRoot({
 *   prefix: 'sk',
 *   features: [withWebhooks({ endpoints: [{ url: 'https://hooks.example.com/keys', secret: process.env.WEBHOOK_SECRET! }] })],
 * })
 */
export function withWebhooks(options: ApiKeyFeatureOptionsInput<ApiKeyWebhookOptions>): ApiKeyFeature {
  return {
    name: 'webhooks',
    providers: (setup) => [
      featureOptionsProvider(API_KEY_WEBHOOK_OPTIONS, options, (given: ApiKeyWebhookOptions) =>
        resolveWebhookOptions(given, setup.eventTypes),
      ),
      { provide: API_KEY_WEBHOOK_ENTITY, useValue: apiKeyWebhookDeliveryEntityFor(setup.tableName) },
      WebhookDeliveryStore,
      ApiKeyWebhookDispatcher,
      ApiKeyWebhookOutbox,
      ApiKeyWebhookLog,
    ],
    exports: [ApiKeyWebhookLog, ApiKeyWebhookDispatcher],
    tables: { entities: webhookEntities, migrations: webhookMigrations },
    changeHook: ApiKeyWebhookOutbox,
  };
}
