/**
 * Events (the write side): lifecycle events announced after commit, the listener interface, expiry notices.
 * @module
 */
export * from './api-key-event.listener.js';
export * from './api-key-event.publisher.js';
export * from '../../lifecycle/api-key-lifecycle.event.js';
export * from '../expiry-notices/expiry-notices.options.js';
export * from '../expiry-notices/expiry-notifier.js';
