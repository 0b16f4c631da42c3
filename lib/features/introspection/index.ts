/**
 * RFC 7662 introspection: the endpoint, and the remote verifier and module for services without the key database.
 * @module
 */
export * from './remote.options.js';
export * from './client-secret.js';
