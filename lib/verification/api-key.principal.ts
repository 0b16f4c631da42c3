import type { IpAllowlist } from '../policies/ip-allowlist.js';

/**
 * The verified identity of a request: what the guard attaches to the request
 * and what `@CurrentApiKey()` hands a handler. Never contains the key or its hash.
 */
export interface ApiKeyPrincipal {
  readonly id: string;
  /** The key's rotation family (the first key's id): rate limits are counted per family. */
  readonly familyId: string;
  readonly name: string;
  readonly ownerId: string | null;
  readonly scopes: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>> | null;
  readonly expiresAt: Date | null;
  /** The environment marked in the key's prefix (`live`, `test`...), or `null` without environments. */
  readonly environment: string | null;
  /**
   * Uses (credits) left before this request spent any, a due refill included, or `null` for unlimited.
   * 0 for a key in its rotation grace period: its family's balance is on its successor.
   */
  readonly remainingUses: number | null;
  /** The key's own rate limit, or `null` (the module default applies, if any). */
  readonly rateLimit: { readonly limit: number; readonly windowMs: number } | null;
  /**
   * The key's IP allowlist (checked by the guard against the address the transport gives: `req.ip` over HTTP, the
   * socket's peer over TCP and WebSockets), or `null`/absent for any address.
   */
  readonly allowedIps?: IpAllowlist | null;
}

/**
 * Why a presented key was refused. Logged with the key id, never the key.
 * `forged`: the keyed tag (`keyTag` option) is wrong, or missing while untagged keys are refused.
 * `prefix`: a well-formed key with a prefix that is not this setup's.
 */
export type ApiKeyRejection =
  'malformed' | 'prefix' | 'forged' | 'unknown' | 'revoked' | 'expired' | 'exhausted' | 'disabled';

/** The outcome of verifying a key: a principal, or the reason it was refused. */
export type ApiKeyVerification =
  | { readonly valid: true; readonly principal: ApiKeyPrincipal }
  | {
      readonly valid: false;
      readonly reason: ApiKeyRejection;
      readonly keyId?: string;
      /** With `keyId`: the refused key's owner (`null` for a key without one). */
      readonly ownerId?: string | null;
      /** Out of credits (`exhausted`) with a refill configured: ms until the next refill. */
      readonly retryAfterMs?: number;
    };

/** The request property the guard sets. */
export const API_KEY_REQUEST_PROPERTY = 'apiKey';
