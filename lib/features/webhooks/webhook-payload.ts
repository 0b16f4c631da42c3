import { apiKeyEventName, type ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';

/**
 * The JSON body of a delivery, in the Standard Webhooks shape
 * (`type`, `timestamp`, `data`): `type` is `api-key.<type>`, `data` the
 * lifecycle event. Built from the event only, which never holds a key or its hash.
 * @example
 * { "type": "api-key.revoked", "timestamp": "2026-12-01T10:00:00.000Z",
 *   "data": { "type": "revoked", "keyId": "0193...", "ownerId": "acme", "actor": "alice",
 *             "at": "2026-12-01T10:00:00.000Z", "details": { "reason": "rotated out" } } }
 */
export function webhookPayload(event: ApiKeyLifecycleEvent): string {
  const at = event.at.toISOString();
  return JSON.stringify({
    type: apiKeyEventName(event.type),
    timestamp: at,
    data: {
      type: event.type,
      keyId: event.keyId,
      ownerId: event.ownerId,
      actor: event.actor,
      at,
      details: event.details,
    },
  });
}
