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
  /** Uses left before this request took one, or `null` for unlimited. */
  readonly remainingUses: number | null;
  /** The key's own rate limit, or `null` (the module default applies, if any). */
  readonly rateLimit: { readonly limit: number; readonly windowMs: number } | null;
}

/** Why a presented key was refused. Logged with the key id, never the key. */
export type ApiKeyRejection = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'exhausted';

/** The outcome of verifying a key: a principal, or the reason it was refused. */
export type ApiKeyVerification =
  | { readonly valid: true; readonly principal: ApiKeyPrincipal }
  | { readonly valid: false; readonly reason: ApiKeyRejection; readonly keyId?: string };

/** The request property the guard sets. */
export const API_KEY_REQUEST_PROPERTY = 'apiKey';
