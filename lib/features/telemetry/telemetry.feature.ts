import type { ApiKeyFeature } from '../../module/api-key-feature.js';
import { ApiKeyTelemetry } from './api-key.telemetry.js';

/**
 * OpenTelemetry metrics and spans of verification, through `@opentelemetry/api` (an optional peer: without it,
 * or without an SDK registered by the host, nothing is reported). Attributes are the outcome and transport only.
 * See docs/telemetry.md.
 * @example
 * ApiKeyModule.forRoot({ prefix: 'sk', features: [withTelemetry()] })
 */
export function withTelemetry(): ApiKeyFeature {
  return {
    name: 'telemetry',
    providers: () => [ApiKeyTelemetry],
    exports: [ApiKeyTelemetry],
    verificationHook: ApiKeyTelemetry,
  };
}
