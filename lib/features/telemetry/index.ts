/**
 * Telemetry: OpenTelemetry metrics and spans of verification (optional peer `@opentelemetry/api`).
 * @module
 */
export * from './api-key.telemetry.js';
