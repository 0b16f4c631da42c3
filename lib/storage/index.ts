/**
 * Storage: the entities, the setup's database (its DataSource, tables and unit of work, checked at boot), the
 * TypeORM store with its per-driver lookups and batching, statement logging and the migrations.
 * @module
 */
export * from './api-key.entity.js';
export * from './api-key.database.js';
export * from './api-key.store.js';
export * from './batched-lookup.js';
export * from './migrations/index.js';
export * from './api-key-event.insert.js';
export * from './lookup-stats.js';
export * from './replica-lag.js';
export * from './key-format.record.js';
