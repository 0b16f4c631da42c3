/**
 * Webhooks: lifecycle events POSTed to configured endpoints, signed per Standard Webhooks,
 * through a durable outbox written in the change's transaction; the dispatcher and the delivery log.
 * @module
 */
export * from './api-key-webhook.log.js';
export * from './webhook-delivery.store.js';
export * from './webhook-dispatcher.js';
export * from './webhook-outbox.js';
export * from './webhook-payload.js';
export * from './webhook-sender.js';
export * from './webhook-signer.js';
export * from './webhook.options.js';
