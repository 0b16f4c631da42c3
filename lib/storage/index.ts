/**
 * Storage: the entities, the TypeORM store with its per-driver lookups and batching,
 * statement logging, the unit of work and the migrations.
 * @module
 */
export * from './api-key.entity.js';
export * from './api-key.store.js';
export * from './lookup-batcher.js';
export * from './lookup-coalescer.js';
export * from './migrations/index.js';
export * from './time-ordered-id.js';
export * from './api-key.unit-of-work.js';
export * from './lookup-stats.js';
export * from '../features/webhooks/api-key-webhook-delivery.entity.js';
export * from './key-format.record.js';
