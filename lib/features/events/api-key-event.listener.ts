import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';

/**
 * Hears lifecycle events, for hosts without `@nestjs/event-emitter` (or in
 * addition to it). Called after the change committed; what it throws or
 * rejects with is logged and never reaches the change.
 * @example
 * const logEvents: ApiKeyEventListener = {
 *   onApiKeyEvent: (event) => console.log(event.type, event.keyId),
 * };
 * ApiKeyModule.forRoot({ features: [withEvents({ listeners: [logEvents] })] });
 */
export interface ApiKeyEventListener {
  onApiKeyEvent(event: ApiKeyLifecycleEvent): void | Promise<void>;
}

/**
 * A provider token for listeners that need injection: provide it (a listener
 * or an array of them) anywhere in the app and `withEvents()` finds it.
 * @example
 * providers: [AuditMailer, { provide: API_KEY_EVENT_LISTENER, useExisting: AuditMailer }]
 */
export const API_KEY_EVENT_LISTENER = Symbol.for('nestjs-opaque-keys:event-listener');
