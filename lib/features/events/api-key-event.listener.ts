import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';
import type { ApiKeyWebhookOptions } from '../webhooks/webhook.options.js';

/**
 * Hears lifecycle events, for hosts without `@nestjs/event-emitter` (or in
 * addition to it). Called after the change committed; what it throws or
 * rejects with is logged and never reaches the change.
 * @example
 * const logEvents: ApiKeyEventListener = {
 *   onApiKeyEvent: (event) => console.log(event.type, event.keyId),
 * };
 * ApiKeyModule.forRoot({ events: { listeners: [logEvents] } });
 */
export interface ApiKeyEventListener {
  onApiKeyEvent(event: ApiKeyLifecycleEvent): void | Promise<void>;
}

/**
 * A provider token for listeners that need injection: provide it (a listener
 * or an array of them) anywhere in the app and the module finds it.
 * @example
 * providers: [AuditMailer, { provide: API_KEY_EVENT_LISTENER, useExisting: AuditMailer }]
 */
export const API_KEY_EVENT_LISTENER = Symbol.for('nestjs-opaque-keys:event-listener');

/** Options of lifecycle events (`events` of `ApiKeyModule.forRoot`). */
export interface ApiKeyEventOptions {
  /** Listeners called with every lifecycle event. Default none. */
  listeners?: ApiKeyEventListener[];
  /**
   * Emit through `@nestjs/event-emitter`'s `EventEmitter2` when the host has
   * `EventEmitterModule` (as `api-key.<type>`). Default `true`; nothing is
   * emitted without the package.
   */
  eventEmitter?: boolean;
  /**
   * POST every event to these endpoints, signed per Standard Webhooks (needs
   * the `standardwebhooks` package), through an outbox written in the
   * change's transaction: at least once, retried with backoff. Default off.
   * See docs/webhooks.md.
   */
  webhooks?: ApiKeyWebhookOptions;
}
