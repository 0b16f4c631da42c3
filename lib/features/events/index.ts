/**
 * `nestjs-opaque-keys/events`: lifecycle events announced after commit (`@nestjs/event-emitter` and
 * listeners), as a feature.
 * @module
 */
export { withEvents } from './events.feature.js';
export { ApiKeyEventPublisher } from './api-key-event.publisher.js';
export { API_KEY_EVENT_LISTENER, type ApiKeyEventListener } from './api-key-event.listener.js';
export { API_KEY_EVENTS_OPTIONS, type ApiKeyEventOptions, type ResolvedEventOptions } from './events.options.js';
export {
  API_KEY_LIFECYCLE_EVENT_TYPES,
  apiKeyEventName,
  type ApiKeyLifecycleEvent,
  type ApiKeyLifecycleEventType,
} from '../../lifecycle/api-key-lifecycle.event.js';
