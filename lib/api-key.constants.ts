/**
 * Internal injection tokens and metadata keys. Not exported from the package
 * barrel: users reach them through the documented getters and decorators.
 */
export const API_KEY_OPTIONS = Symbol('nestjs-opaque-keys:options');
export const API_KEY_STORE = Symbol('nestjs-opaque-keys:store');
export const API_KEY_DATA_SOURCE = Symbol('nestjs-opaque-keys:data-source');
export const API_KEY_ENTITY = Symbol('nestjs-opaque-keys:entity');
export const API_KEY_EVENT_ENTITY = Symbol('nestjs-opaque-keys:event-entity');
export const SCOPES_METADATA = 'nestjs-opaque-keys:scopes';
export const PUBLIC_METADATA = 'nestjs-opaque-keys:public';
export const API_KEY_CACHE = Symbol('nestjs-opaque-keys:cache');
/** The setup's lookup counts (cache hits and misses, batch sizes), read by telemetry. */
export const API_KEY_LOOKUP_STATS = Symbol('nestjs-opaque-keys:lookup-stats');
export const COST_METADATA = 'nestjs-opaque-keys:cost';
export const OPTIONAL_METADATA = 'nestjs-opaque-keys:optional';
/** The hooks of a setup's features (`ApiKeyHooks`); absent in a setup without features. */
export const API_KEY_HOOKS = Symbol('nestjs-opaque-keys:hooks');
/** The tables a setup's features bring (`ApiKeyFeatureTables[]`), checked at boot with the core's; absent when none. */
export const API_KEY_FEATURE_TABLES = Symbol('nestjs-opaque-keys:feature-tables');
