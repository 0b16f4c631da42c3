import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import type { ApiKeyEventListener } from './api-key-event.listener.js';

/** The injection token of the resolved {@link ResolvedEventOptions}. */
export const API_KEY_EVENTS_OPTIONS = Symbol('nestjs-opaque-keys:events-options');

/** Options of lifecycle events (`withEvents(options)`). */
export interface ApiKeyEventOptions {
  /** Listeners called with every lifecycle event. Default none. */
  listeners?: ApiKeyEventListener[];
  /**
   * Emit through `@nestjs/event-emitter`'s `EventEmitter2` when the host has
   * `EventEmitterModule` (as `api-key.<type>`). Default `true`; nothing is
   * emitted without the package.
   */
  eventEmitter?: boolean;
}

/** Event options with defaults applied. */
export interface ResolvedEventOptions {
  readonly listeners: readonly ApiKeyEventListener[];
  readonly eventEmitter: boolean;
}

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveEventOptions(options: ApiKeyEventOptions = {}): ResolvedEventOptions {
  if (typeof options !== 'object' || options === null)
    throw new ApiKeyConfigurationError('withEvents() takes an options object', 'events');
  const listeners = options.listeners ?? [];
  if (!Array.isArray(listeners) || listeners.some((listener) => typeof listener?.onApiKeyEvent !== 'function'))
    throw new ApiKeyConfigurationError(
      'events.listeners must be an array of objects with an onApiKeyEvent(event) method',
      'events.listeners',
    );
  const eventEmitter = options.eventEmitter ?? true;
  if (typeof eventEmitter !== 'boolean')
    throw new ApiKeyConfigurationError('events.eventEmitter must be a boolean', 'events.eventEmitter');
  return { listeners: Object.freeze([...listeners]), eventEmitter };
}
