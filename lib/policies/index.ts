/**
 * Pure rules: scope matching, expiry, rate-limit rules and argument validation. No Nest, no TypeORM, no I/O.
 * @module
 */
export * from './scope-matcher.js';
export * from './api-key.input.js';
export * from './credits.js';
export * from './delegation.js';
export * from './ip-allowlist.js';
export * from './rate-limit.js';
