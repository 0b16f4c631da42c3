/**
 * `nestjs-opaque-keys/telemetry`: OpenTelemetry metrics and spans of verification, as a feature
 * (optional peer `@opentelemetry/api`).
 * @module
 */
export { withTelemetry } from './telemetry.feature.js';
export { ApiKeyTelemetry, API_KEY_TELEMETRY } from './api-key.telemetry.js';
