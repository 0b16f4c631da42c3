/**
 * Internal injection tokens and metadata keys. Not exported from the package
 * barrel: users reach them through the documented getters and decorators.
 */
export const API_KEY_OPTIONS = Symbol('nestjs-opaque-keys:options');
/** The hot path's store (`ApiKeyStore`): the TypeORM lookup, cached when the `cache` option is on. */
export const API_KEY_STORE = Symbol('nestjs-opaque-keys:store');
export const SCOPES_METADATA = 'nestjs-opaque-keys:scopes';
export const PUBLIC_METADATA = 'nestjs-opaque-keys:public';
export const COST_METADATA = 'nestjs-opaque-keys:cost';
export const OPTIONAL_METADATA = 'nestjs-opaque-keys:optional';
/** The change hooks of a setup's features (`ApiKeyChangeHook[]`); absent in a setup without features. */
export const API_KEY_CHANGE_HOOKS = Symbol('nestjs-opaque-keys:change-hooks');
/** The verification hooks of a setup's features (`ApiKeyVerificationHook[]`); absent in a setup without features. */
export const API_KEY_VERIFICATION_HOOKS = Symbol('nestjs-opaque-keys:verification-hooks');
/** The other systems' key formats a setup's features accept (`ApiKeyLegacyKeys`); absent without such a feature. */
export const API_KEY_LEGACY_KEYS = Symbol('nestjs-opaque-keys:legacy-keys');
