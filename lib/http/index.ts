/**
 * The request path over HTTP (and GraphQL): the guard, credential extraction, request access,
 * challenges (WWW-Authenticate), the exception filter and the decorators.
 * @module
 */
export * from './credential.js';
export * from './request-context.js';
export * from './refusals.js';
