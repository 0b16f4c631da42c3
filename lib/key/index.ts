/**
 * The key itself: format, checksum, base62, hashing and the optional keyed tag. Pure: no Nest, no TypeORM, no I/O.
 * @module
 */
export * from './key-format.js';
export * from './key-hash.js';
export * from './key-tag.js';
