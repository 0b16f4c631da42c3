/**
 * Lifecycle (the write side): the service, the change unit every change goes through, and the operations
 * built on it.
 * @module
 */
export * from './api-key.changes.js';
export { KeyCredits } from './api-key.credits.js';
