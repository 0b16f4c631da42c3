/**
 * Verification: the verifier (one read per key), the rate limiter, the use counter and the
 * write-behind recorders of last use and refused uses.
 * @module
 */
export * from './last-used.recorder.js';
export * from './refused-use.recorder.js';
export { RATE_LIMITER_MODULE_LOADER, type RateLimiterModuleLoader } from './rate-limit-backend.js';
export * from './rate-limiter.js';
export * from './verification-hook.js';
