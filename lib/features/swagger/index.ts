/**
 * `nestjs-opaque-keys/swagger`: OpenAPI documentation of API-key security.
 * A separate entry point, so that `@nestjs/swagger` stays an optional peer
 * dependency that the main entry never loads.
 */
export { applyApiKeySecurity, type ApiKeyOpenApiOptions } from './api-key-openapi.js';
export { findGuardedRoutes, type GuardedRoute } from './api-key-routes.js';
