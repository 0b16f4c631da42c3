/**
 * Internal injection tokens and metadata keys. Not exported from the package
 * barrel: users reach them through the documented getters and decorators.
 */
export const API_KEY_OPTIONS = Symbol('nestjs-opaque-keys:options');
export const API_KEY_STORE = Symbol('nestjs-opaque-keys:store');
export const API_KEY_DATA_SOURCE = Symbol('nestjs-opaque-keys:data-source');
export const API_KEY_ENTITY = Symbol('nestjs-opaque-keys:entity');
export const API_KEY_EVENT_ENTITY = Symbol('nestjs-opaque-keys:event-entity');
export const API_KEY_USAGE_ENTITY = Symbol('nestjs-opaque-keys:usage-entity');
export const SCOPES_METADATA = 'nestjs-opaque-keys:scopes';
export const PUBLIC_METADATA = 'nestjs-opaque-keys:public';
export const API_KEY_CACHE = Symbol('nestjs-opaque-keys:cache');
/** The setup's lookup counts (cache hits and misses, batch sizes), read by telemetry. */
export const API_KEY_LOOKUP_STATS = Symbol('nestjs-opaque-keys:lookup-stats');
export const COST_METADATA = 'nestjs-opaque-keys:cost';
export const OPTIONAL_METADATA = 'nestjs-opaque-keys:optional';
export const API_KEY_WEBHOOK_ENTITY = Symbol('nestjs-opaque-keys:webhook-entity');
