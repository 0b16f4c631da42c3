/**
 * The optional lookup cache: the LRU, the cached store, the invalidator and its buses
 * (PostgreSQL LISTEN/NOTIFY, Redis pub/sub).
 * @module
 */
export * from './cache.options.js';
export * from './cached-api-key.store.js';
export * from './invalidation-bus.js';
export * from './lookup-cache.js';
export * from './postgres-invalidation.bus.js';
