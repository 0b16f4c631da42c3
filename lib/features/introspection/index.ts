/**
 * `nestjs-opaque-keys/introspection`: RFC 7662 introspection. The endpoint for the key store
 * (`createIntrospectionController`, `IntrospectionClientGuard`), and `ApiKeyRemoteModule` with its verifier for
 * services without the key database.
 * @module
 */
export { createIntrospectionController, type IntrospectionOptions } from './introspection.controller.js';
export { IntrospectionClientGuard } from './introspection-client.guard.js';
export {
  toIntrospectionResponse,
  fromIntrospectionResponse,
  API_KEY_TOKEN_TYPE,
  type IntrospectionResponse,
  type ActiveIntrospectionResponse,
  type InactiveIntrospectionResponse,
  type IntrospectionExtensions,
} from './introspection-response.js';
export { RemoteApiKeyVerifier } from './remote-verifier.js';
export { ApiKeyRemoteModule } from './remote.module.js';
export type { ApiKeyRemoteModuleExtras } from './remote.module-definition.js';
export * from './remote.options.js';
export * from './client-secret.js';
