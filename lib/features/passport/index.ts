/**
 * Passport: the `api-key` strategy for `@nestjs/passport`'s `AuthGuard`
 * (import from `nestjs-opaque-keys/passport`; `passport`, `passport-custom`
 * and `@nestjs/passport` are optional peers).
 * @module
 */
export { ApiKeyStrategy, API_KEY_STRATEGY } from './api-key.strategy.js';
