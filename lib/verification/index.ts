/**
 * Verification: the verifier (one read per key, credits spent last, refused uses written behind), the rate
 * limiter, the write-behind recorder of last use, and the hooks that hear each request's outcome.
 * @module
 */
export * from './write-behind.js';
export type { RateLimiterModuleLoader } from './rate-limit-counters.js';
export * from './rate-limiter.js';
export * from './verification-hook.js';
