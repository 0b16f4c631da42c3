/**
 * Internal injection tokens and metadata keys. Not exported from the package
 * barrel: users reach them through the documented getters and decorators.
 */
export const API_KEY_OPTIONS = Symbol('nestjs-api-keys:options');
export const API_KEY_STORE = Symbol('nestjs-api-keys:store');
export const API_KEY_DATA_SOURCE = Symbol('nestjs-api-keys:data-source');
export const API_KEY_ENTITY = Symbol('nestjs-api-keys:entity');
export const API_KEY_EVENT_ENTITY = Symbol('nestjs-api-keys:event-entity');
export const SCOPES_METADATA = 'nestjs-api-keys:scopes';
export const PUBLIC_METADATA = 'nestjs-api-keys:public';
export const API_KEY_CACHE = Symbol('nestjs-api-keys:cache');
