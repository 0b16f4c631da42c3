/**
 * The request path over HTTP (and GraphQL): the guard, credential extraction, request access,
 * challenges (WWW-Authenticate), the exception filter and the decorators.
 * @module
 */
export * from './credential-extractor.js';
export * from './execution-request.js';
export * from './www-authenticate.js';
export * from './rejection-log.js';
export * from './unread-credential.js';
export * from './request-address.js';
