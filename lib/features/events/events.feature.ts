import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { featureOptionsProvider, type ApiKeyFeatureOptionsInput } from '../../module/feature-options.js';
import { ApiKeyEventPublisher } from './api-key-event.publisher.js';
import { API_KEY_EVENTS_OPTIONS, resolveEventOptions, type ApiKeyEventOptions } from './events.options.js';

/**
 * Lifecycle events after commit: every change to a key (issued, rotated, revoked, scopes changed, disabled,
 * credits...) is announced once its transaction committed, never for a rollback, through `@nestjs/event-emitter`
 * (`api-key.<type>`) when the host has it and to `ApiKeyEventListener`s. See docs/events.md.
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withEvents()] })
 * // and in any provider: @OnEvent('api-key.revoked') onRevoked(event: ApiKeyLifecycleEvent) { ... }
 */
export function withEvents(options: ApiKeyFeatureOptionsInput<ApiKeyEventOptions> = {}): ApiKeyFeature {
  return {
    name: 'events',
    providers: () => [
      featureOptionsProvider(API_KEY_EVENTS_OPTIONS, options, resolveEventOptions),
      ApiKeyEventPublisher,
    ],
    exports: [ApiKeyEventPublisher],
    changeHook: ApiKeyEventPublisher,
  };
}
