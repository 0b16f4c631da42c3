/**
 * Lifecycle (the write side): the service, rotation, the key factory, records and the audit log.
 * @module
 */
export * from './api-key-audit.log.js';
