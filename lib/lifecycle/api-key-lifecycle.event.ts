import type { ApiKeyEventType } from '../storage/api-key-event.entity.js';

/**
 * The lifecycle event types: every audit event type but the refused uses (`*_use`) of the request path and
 * the key format the app records at boot.
 */
export type ApiKeyLifecycleEventType = Exclude<ApiKeyEventType, `${string}_use` | 'key_format'>;

/** Every lifecycle event type, for hosts that subscribe to all of them. */
export const API_KEY_LIFECYCLE_EVENT_TYPES: readonly ApiKeyLifecycleEventType[] = Object.freeze([
  'issued',
  'rotated',
  'revoked',
  'scopes_changed',
  'reuse_detected',
  'leak_reported',
  'expiring',
  'expired',
  'disabled',
  'enabled',
  'updated',
  'credits_added',
  'credits_set',
]);

/**
 * What happened to a key, announced after the change committed (never for a
 * change that rolled back). It never holds the key or its hash.
 * @example
 * // With @nestjs/event-emitter in the host:
 * @OnEvent('api-key.revoked')
 * onRevoked(event: ApiKeyLifecycleEvent) {
 *   this.logger.log(`key ${event.keyId} of ${event.ownerId} revoked by ${event.actor}`);
 * }
 */
export interface ApiKeyLifecycleEvent {
  readonly type: ApiKeyLifecycleEventType;
  /** The key's id (not secret). */
  readonly keyId: string;
  readonly ownerId: string | null;
  /** Who did it, as the caller said (`actor` of the change), or `null`. */
  readonly actor: string | null;
  /** When the change was made. */
  readonly at: Date;
  /** Non-secret context, as in the audit row: reason, scopes, successor id, expiry... */
  readonly details: Readonly<Record<string, unknown>> | null;
}

/** The `@nestjs/event-emitter` event name of a type: `api-key.<type>`, e.g. `api-key.revoked`. */
export function apiKeyEventName(type: ApiKeyLifecycleEventType): `api-key.${ApiKeyLifecycleEventType}` {
  return `api-key.${type}`;
}

/** True for the audit types that are lifecycle events (not the request path's refused uses). */
export function isLifecycleEventType(type: ApiKeyEventType): type is ApiKeyLifecycleEventType {
  return !type.endsWith('_use') && type !== 'key_format';
}
