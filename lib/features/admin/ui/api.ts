/**
 * The console's client of its JSON API. The admin key lives in this module's
 * memory only (never localStorage, sessionStorage, a cookie or a URL): a
 * reload signs out. It goes out as `Authorization: Bearer`.
 */
let token: string | null = null;
/** True once the API accepted `token`: a later 401 means it stopped accepting it (revoked meanwhile, say). */
let accepted = false;
let onUnauthorized: () => void = () => {};

/** The API's base path, written into the page by the server. */
const base = document.body.dataset.api ?? '';

/**
 * True when the host's guard signs people in (its own session): the page asks the API who is signed in as it
 * loads. Otherwise the page calls the API only once an admin key was typed in, so a fresh load makes no request
 * that could only be refused.
 */
export const hostSignIn = document.body.dataset.signIn === 'host';

/** An answer that was not 2xx, with Nest's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sets (or clears) the admin key; a new key has not been accepted yet. */
export function setCredential(key: string | null): void {
  token = key;
  accepted = false;
}

/**
 * What to do when the API stops accepting the key it accepted before (revoked meanwhile, say); not called for
 * the refusal of a key being tried at sign-in, which the sign-in form explains itself.
 */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** True for the rejection of a call its `signal` aborted (a newer call replaced it): not an error to show. */
export function isAborted(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

/**
 * Calls the API; JSON in and out. A view that fetches in an effect passes
 * its `signal` and aborts on cleanup, so an answer to an older filter or an
 * earlier key never replaces a newer one.
 * @throws ApiError
 */
export async function api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const sent = token;
  if (sent) headers.Authorization = `Bearer ${sent}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    referrerPolicy: 'no-referrer',
    signal,
  });
  const data = await response.json().catch((error: unknown) => {
    if (isAborted(error)) throw error;
    return {};
  });
  if (response.ok && token === sent) accepted = true;
  if (!response.ok) {
    if (response.status === 401 && sent && sent === token && accepted) onUnauthorized();
    const message = Array.isArray(data.message) ? data.message.join('; ') : data.message;
    throw new ApiError(response.status, String(message ?? response.statusText));
  }
  return data as T;
}

/** A key record as the API sends it (dates as ISO strings). */
export interface KeyRow {
  id: string;
  name: string;
  ownerId: string | null;
  hint: string;
  scopes: string[];
  metadata: Record<string, unknown> | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  lastUsedAt: string | null;
  /** Where it was last used from: only when the app records it (`withLastAddress()`); `null` when not since. */
  lastUsedFrom?: { address: string; usedAt: string } | null;
  replacedById: string | null;
  familyId: string | null;
  remainingUses: number | null;
  rateLimitMax: number | null;
  rateLimitWindowMs: number | null;
  refillAmount: number | null;
  refillIntervalMs: number | null;
  refilledAtMs: number | null;
  disabledAt: string | null;
  disabledReason: string | null;
  allowedIps: string[] | null;
  status: 'active' | 'disabled' | 'revoked' | 'expired' | 'used-up';
  expiringSoon: boolean;
}

/** One page of keys. */
export interface KeyPage {
  items: KeyRow[];
  total: number;
  limit: number;
  offset: number;
  truncated: boolean;
}

/** Who is signed in, and the key policy. */
export interface Session {
  admin: { id: string; scopes: string[] };
  policy: { environments: string[]; defaultLifetimeMs: number | null; maxLifetimeMs: number | null };
}

/** One audit event. */
export interface KeyEvent {
  id: string;
  type: string;
  actor: string | null;
  at: string;
  details: Record<string, unknown> | null;
}

/** One bucket of a key's usage. */
export interface UsagePoint {
  start: string;
  counts: Record<'verified' | 'invalid' | 'forbidden' | 'rate_limited' | 'out_of_credits', number>;
  total: number;
}

/** A key's usage series, or `enabled: false` when the app does not record usage. */
export type Usage =
  | { enabled: false }
  | { enabled: true; granularity: 'hour' | 'day'; points: UsagePoint[]; totals: UsagePoint['counts'] };

/** An owner policy's rules (fields left out set no rule). */
export interface OwnerPolicy {
  scopes?: string[];
  maxLifetimeMs?: number;
  requireExpiry?: boolean;
  environments?: string[];
  allowedIps?: string[];
}

/** The owner policies the operator may read, or `enabled: false` when the app does not use them. */
export type OwnerPolicies =
  | { enabled: false }
  | {
      enabled: true;
      editable: boolean;
      policies: { ownerId: string; policy: OwnerPolicy; updatedAt: string; updatedBy: string | null }[];
    };

/** What a policy change did to keys. */
export interface OwnerPolicyChange {
  ownerId: string;
  policy: OwnerPolicy | null;
  disabled: string[];
  enabled: string[];
}
