/**
 * The key itself: format, checksum, base62 and hashing. Pure: no Nest, no TypeORM, no I/O.
 * @module
 */
export * from './base62.js';
export * from './key-format.js';
export * from './key-hash.js';
