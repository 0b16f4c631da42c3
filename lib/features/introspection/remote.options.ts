import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import type { ApiKeyModuleOptions } from '../../api-key.options.js';

/** Injection token of the resolved {@link ResolvedRemoteOptions}. Internal. */
export const REMOTE_INTROSPECTION_OPTIONS = Symbol('nestjs-opaque-keys:remote-introspection');

/** The `fetch` the remote verifier calls: the global one by default. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Options of `ApiKeyRemoteModule.forRoot()`: where the key store's
 * introspection endpoint is, and how keys are read from requests here
 * (`prefix`, `environments`, `bearer`, `header`, `realm`,
 * `retryAfterSeconds`, `rateLimit`, `ownerRateLimit`, `rateLimitBackend` (`'memory'` or Redis)
 * and `rateLimitStorage`, as in
 * `ApiKeyModule`; the prefix and environments must match the key store's).
 * Rate limits are counted in this service's storage: a key's own limit comes
 * with the introspection answer, `rateLimit` is this service's default.
 */
export interface ApiKeyRemoteModuleOptions extends Pick<
  ApiKeyModuleOptions,
  | 'prefix'
  | 'environments'
  | 'bearer'
  | 'header'
  | 'realm'
  | 'retryAfterSeconds'
  | 'rateLimit'
  | 'rateLimitStorage'
  | 'rateLimitBackend'
  | 'ownerRateLimit'
> {
  /** Absolute URL of the key store's introspection endpoint, e.g. `https://keys.internal/oauth/introspect`. */
  introspectionUrl: string;
  /** This service's own key, holding the endpoint's scope (default `keys:introspect`). Sent as `Authorization: Bearer`. */
  introspectionKey: string;
  /** How long an answer is reused, in ms; also the longest a revocation can go unnoticed here. `0` turns caching off. Default 5000. */
  cacheTtlMs?: number;
  /** Most active answers kept; the oldest is dropped first. Inactive answers are never kept. Default 10000. */
  cacheMaxEntries?: number;
  /** Time allowed for one introspection call, in ms; beyond it the request gets 503. Default 2000. */
  timeoutMs?: number;
  /** Replaces the global `fetch` (tests, proxies). */
  fetch?: FetchFunction;
}

/** Remote options after defaults are applied and values checked. */
export class ResolvedRemoteOptions {
  readonly introspectionUrl: string;
  readonly introspectionKey: string;
  readonly cacheTtlMs: number = 5_000;
  readonly cacheMaxEntries: number = 10_000;
  readonly timeoutMs: number = 2_000;
  readonly fetch: FetchFunction;

  /** @throws ApiKeyConfigurationError naming the bad option (`introspectionUrl`, `timeoutMs`...) */
  constructor(options: ApiKeyRemoteModuleOptions) {
    let url: URL;
    try {
      url = new URL(options?.introspectionUrl);
    } catch (cause) {
      throw new ApiKeyConfigurationError(
        `introspectionUrl must be an absolute http(s) URL; got ${JSON.stringify(options?.introspectionUrl)}`,
        'introspectionUrl',
        { cause },
      );
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ApiKeyConfigurationError('introspectionUrl must be an http(s) URL', 'introspectionUrl');
    if (typeof options.introspectionKey !== 'string' || options.introspectionKey.length === 0) {
      throw new ApiKeyConfigurationError(
        'introspectionKey is required: this service authenticates to the key store with its own key',
        'introspectionKey',
      );
    }
    this.introspectionUrl = url.href;
    this.introspectionKey = options.introspectionKey;
    for (const name of ['cacheTtlMs', 'cacheMaxEntries', 'timeoutMs'] as const) {
      const value = options[name];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < 0 || (name === 'timeoutMs' && value === 0)) {
        throw new ApiKeyConfigurationError(
          `${name} must be a ${name === 'timeoutMs' ? 'positive' : 'non-negative'} number`,
          name,
        );
      }
      this[name] = value;
    }
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }
}
