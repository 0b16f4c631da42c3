import { createHash } from 'node:crypto';
import type { ApiKeyLifecycleEvent } from '../../lifecycle/api-key-lifecycle.event.js';

/**
 * The alert types, announced as lifecycle events are (`api-key.<type>` through `withEvents()`, a webhook of that
 * `type` through `withWebhooks()`), and written as the audit row that claims them:
 * - `credits_low`: a refilling balance fell below `credits.below` or `credits.belowShare` of its refill;
 * - `uses_low`: a balance without refill fell below `uses.below`;
 * - `rate_limited_often`: a key was refused by its rate limit more than `rateLimited.moreThan` times in a window;
 * - `refusal_spike`: more than `refusals.moreThan` refused requests (401 for a known key, 403) in a window;
 * - `owner_credits_low`: the sum of an owner's live balances fell below `owners.credits.below`;
 * - `owner_refusal_spike`: more than `owners.refusals.moreThan` refused requests across an owner's keys in a window.
 */
export type ApiKeyAlertType =
  'credits_low' | 'uses_low' | 'rate_limited_often' | 'refusal_spike' | 'owner_credits_low' | 'owner_refusal_spike';

/** The alert types about an owner (its keys taken together) rather than one key. */
export type ApiKeyOwnerAlertType = Extract<ApiKeyAlertType, `owner_${string}`>;

/**
 * The `keyId` of an owner alert, in its audit row and its announcement: no key's id (key ids are UUIDs). An owner
 * alert is about no one key; its `ownerId` names the owner.
 */
export const OWNER_ALERT_KEY_ID = 'owner';

/** Every alert type, for hosts that subscribe to all of them. */
export const API_KEY_ALERT_TYPES: readonly ApiKeyAlertType[] = Object.freeze([
  'credits_low',
  'uses_low',
  'rate_limited_often',
  'refusal_spike',
  'owner_credits_low',
  'owner_refusal_spike',
]);

/** What crossed: the threshold and the figure, and for the counted alerts the window. Never the key or its hash. */
export interface ApiKeyAlertDetails {
  /** The threshold crossed: a balance below it (`*credits_low`, `uses_low`), or a count above it (the others). */
  readonly threshold: number;
  /**
   * The figure that crossed it: the balance left (an owner's: the sum of its live balances), or the count of
   * refusals in the window (on this instance).
   */
  readonly figure: number;
  /** `owner_credits_low`: how many live balances (keys or rotation families) the figure sums. */
  readonly keys?: number;
  /** `credits_low` of `credits.belowShare`: the share, of `refillAmount`. */
  readonly share?: number;
  /** `credits_low`: the balance a refill restores. */
  readonly refillAmount?: number;
  /** Counted alerts: the window's start (ISO 8601) and length in ms. */
  readonly windowStart?: string;
  readonly windowMs?: number;
}

/**
 * An alert, announced once across instances. Its shape is a lifecycle event's, with its own `type`; an owner alert
 * (`owner_*`) has {@link OWNER_ALERT_KEY_ID} as `keyId` and its owner as `ownerId`.
 * @example
 * @OnEvent('api-key.credits_low')
 * onLow(alert: ApiKeyAlert) { mailer.send(alert.ownerId, `key ${alert.keyId}: ${alert.details.figure} credits left`); }
 */
export interface ApiKeyAlert extends Omit<ApiKeyLifecycleEvent, 'type' | 'details'> {
  readonly type: ApiKeyAlertType;
  readonly details: ApiKeyAlertDetails;
}

/** The `@nestjs/event-emitter` event name of an alert type: `api-key.<type>`, e.g. `api-key.credits_low`. */
export function apiKeyAlertEventName(type: ApiKeyAlertType): `api-key.${ApiKeyAlertType}` {
  return `api-key.${type}`;
}

/**
 * The event as an alert if it is one (a listener of `withEvents()` hears lifecycle events and alerts alike), else
 * `undefined`.
 * @example
 * onApiKeyEvent(event) { const alert = asApiKeyAlert(event); if (alert) page(alert.ownerId, alert.details.figure); }
 */
export function asApiKeyAlert(event: { readonly type: string }): ApiKeyAlert | undefined {
  return (API_KEY_ALERT_TYPES as readonly string[]).includes(event.type) ? (event as ApiKeyAlert) : undefined;
}

/** One crossing found by a check: the alert and what makes it the same crossing on every instance. */
export interface AlertCrossing {
  readonly alert: ApiKeyAlert;
  /** The subject of the crossing (the rotation family for balances, the key for counts, an owner) and its episode. */
  readonly marker: string;
}

/** An alert of `type` for `key` at `now`. */
export function alertOf(
  type: ApiKeyAlertType,
  key: { id: string; ownerId: string | null },
  now: number,
  details: ApiKeyAlertDetails,
): ApiKeyAlert {
  return Object.freeze({
    type,
    keyId: key.id,
    ownerId: key.ownerId,
    actor: null,
    at: new Date(now),
    details: Object.freeze({ ...details }),
  });
}

/** An owner alert of `type` for `ownerId` at `now`: no key's id ({@link OWNER_ALERT_KEY_ID}). */
export function ownerAlertOf(
  type: ApiKeyOwnerAlertType,
  ownerId: string,
  now: number,
  details: ApiKeyAlertDetails,
): ApiKeyAlert {
  return alertOf(type, { id: OWNER_ALERT_KEY_ID, ownerId }, now, details);
}

/**
 * The marker of an owner's crossing: its parts as JSON, so that no owner id (any string) can make another owner's
 * marker; `owner` first, so that it never equals a key's.
 */
export function ownerMarker(ownerId: string, type: ApiKeyOwnerAlertType, ...episode: (string | number)[]): string {
  return JSON.stringify(['owner', ownerId, type, ...episode]);
}

/** A crossing's audit row id: the same on every instance for the same crossing, so only one INSERT wins. */
export function alertClaimId(marker: string): string {
  return 'a' + createHash('sha256').update(marker).digest('hex').slice(0, 35);
}
