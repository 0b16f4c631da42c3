import { compileAllowlist, type IpAllowlist } from '../../policies/ip-allowlist.js';
import type { ApiKeyPrincipal, ApiKeyVerification } from '../../verification/api-key.principal.js';

/** The `token_type` an introspection answer gives API keys. */
export const API_KEY_TOKEN_TYPE = 'api_key';

/** Library-specific members of an active introspection answer (RFC 7662 allows extensions). */
export interface IntrospectionExtensions {
  readonly name: string;
  /** The key's rotation family, so a resource server counts rate limits per family as the issuer does. */
  readonly family_id: string;
  readonly environment: string | null;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** Uses left when the key has a use limit, as of this answer; absent for unlimited keys. */
  readonly remaining_uses?: number;
  /** The key's own rate limit, absent when it has none (the module default is the service's own). */
  readonly rate_limit?: { readonly limit: number; readonly window_ms: number };
  /**
   * The key's IP allowlist (addresses and CIDR ranges), absent when it has none: the resource server checks it
   * against its own client's address, as the key store's guard would. `[]` for a stored list that cannot be read
   * (no address allowed).
   */
  readonly allowed_ips?: readonly string[];
}

/** An RFC 7662 section 2.2 answer about an active key. */
export interface ActiveIntrospectionResponse {
  readonly active: true;
  /** Space-separated granted scopes (wildcard grants as stored, e.g. `orders:*`). */
  readonly scope: string;
  /** The key's id. */
  readonly client_id: string;
  /** The key's owner, absent when it has none. */
  readonly sub?: string;
  /** Expiry in seconds since the epoch, absent when the key never expires. */
  readonly exp?: number;
  readonly token_type: typeof API_KEY_TOKEN_TYPE;
  readonly ext: IntrospectionExtensions;
}

/** The answer about anything that is not an active key: nothing more, so it tells no reason. */
export interface InactiveIntrospectionResponse {
  readonly active: false;
}

/** An RFC 7662 introspection answer as this library writes and reads it. */
export type IntrospectionResponse = ActiveIntrospectionResponse | InactiveIntrospectionResponse;

const INACTIVE: InactiveIntrospectionResponse = Object.freeze({ active: false });

/**
 * Maps a verification to its RFC 7662 answer. Unknown, malformed, revoked,
 * expired and exhausted keys all give `{ active: false }` and nothing else.
 * `iat` is omitted: the hot-path read does not load `createdAt`.
 */
export function toIntrospectionResponse(verification: ApiKeyVerification): IntrospectionResponse {
  if (!verification.valid) return INACTIVE;
  const key = verification.principal;
  const ext: IntrospectionExtensions = {
    name: key.name,
    family_id: key.familyId,
    environment: key.environment,
    metadata: key.metadata,
    ...(key.remainingUses !== null ? { remaining_uses: key.remainingUses } : {}),
    ...(key.rateLimit ? { rate_limit: { limit: key.rateLimit.limit, window_ms: key.rateLimit.windowMs } } : {}),
    ...(key.allowedIps ? { allowed_ips: key.allowedIps.entries } : {}),
  };
  return {
    active: true,
    scope: key.scopes.join(' '),
    client_id: key.id,
    ...(key.ownerId !== null ? { sub: key.ownerId } : {}),
    ...(key.expiresAt ? { exp: Math.floor(key.expiresAt.getTime() / 1000) } : {}),
    token_type: API_KEY_TOKEN_TYPE,
    ext,
  };
}

/**
 * Reads a remote introspection answer back into a verification. Anything
 * inactive is `unknown` (the remote tells no reason). Returns `undefined` when
 * the answer is not a well-formed RFC 7662 response, which callers treat as an
 * outage rather than a verdict.
 */
export function fromIntrospectionResponse(body: unknown): ApiKeyVerification | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const answer = body as Record<string, unknown>;
  if (answer.active === false) return { valid: false, reason: 'unknown' };
  if (answer.active !== true || typeof answer.client_id !== 'string') return undefined;
  if (answer.scope !== undefined && typeof answer.scope !== 'string') return undefined;
  const ext = (typeof answer.ext === 'object' && answer.ext !== null ? answer.ext : {}) as Record<string, unknown>;
  const principal: ApiKeyPrincipal = {
    id: answer.client_id,
    familyId: typeof ext.family_id === 'string' ? ext.family_id : answer.client_id,
    name: typeof ext.name === 'string' ? ext.name : '',
    ownerId: typeof answer.sub === 'string' ? answer.sub : null,
    scopes: typeof answer.scope === 'string' ? answer.scope.split(' ').filter(Boolean) : [],
    metadata:
      typeof ext.metadata === 'object' && ext.metadata !== null ? (ext.metadata as Record<string, unknown>) : null,
    expiresAt: typeof answer.exp === 'number' && Number.isFinite(answer.exp) ? new Date(answer.exp * 1000) : null,
    environment: typeof ext.environment === 'string' ? ext.environment : null,
    remainingUses: typeof ext.remaining_uses === 'number' ? ext.remaining_uses : null,
    rateLimit: rateLimitOf(ext.rate_limit),
  };
  if (ext.allowed_ips === undefined) return { valid: true, principal };
  return { valid: true, principal: { ...principal, allowedIps: allowlistOf(ext.allowed_ips) } };
}

/** An answer's `allowed_ips`: compiled as the key store would; anything but a list of addresses allows none. */
function allowlistOf(value: unknown): IpAllowlist {
  return compileAllowlist(Array.isArray(value) ? value : []);
}

function rateLimitOf(value: unknown): ApiKeyPrincipal['rateLimit'] {
  const { limit, window_ms: windowMs } = (typeof value === 'object' && value !== null ? value : {}) as Record<
    string,
    unknown
  >;
  const positive = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;
  return positive(limit) && positive(windowMs) ? { limit, windowMs } : null;
}
