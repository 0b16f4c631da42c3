import { createPublicKey, type KeyObject } from 'node:crypto';

/** Where GitHub publishes the keys that sign its secret-scanning alerts. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** The `fetch` this needs (Node's global one by default; tests pass a local one). */
export type PublicKeysFetch = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

/** Options of {@link GitHubPublicKeys}. */
export interface GitHubPublicKeysOptions {
  /** The key list's URL. Default {@link GITHUB_SECRET_SCANNING_KEYS_URL}. */
  url?: string;
  /** How long a fetched list is used, in ms. Default 1 hour. */
  cacheTtlMs?: number;
  /** Shortest time between two fetches caused by unknown key identifiers, in ms. Default 60 s. */
  minRefreshIntervalMs?: number;
  /** Timeout of one fetch, in ms. Default 5 s. */
  timeoutMs?: number;
  fetch?: PublicKeysFetch;
}

/** The key list cannot be had: the caller must fail closed (503), never skip the check. */
export class GitHubPublicKeysUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the GitHub secret-scanning key list cannot be fetched', options);
    this.name = 'GitHubPublicKeysUnavailableError';
  }
}

/**
 * GitHub's secret-scanning public keys, fetched from a configurable URL,
 * cached, and fetched again when a request names an identifier the cached list
 * lacks (GitHub rotates keys) — at most once per `minRefreshIntervalMs`, so
 * made-up identifiers cannot turn into a flood of fetches.
 */
export class GitHubPublicKeys {
  private keys?: Map<string, KeyObject>;
  private fetchedAt = 0;
  private pending?: Promise<Map<string, KeyObject>>;
  private readonly url: string;
  private readonly cacheTtlMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: PublicKeysFetch;

  constructor(
    options: GitHubPublicKeysOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.url = options.url ?? GITHUB_SECRET_SCANNING_KEYS_URL;
    this.cacheTtlMs = options.cacheTtlMs ?? 3_600_000;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.fetch = options.fetch ?? (globalThis.fetch as unknown as PublicKeysFetch);
  }

  /**
   * The key with this identifier, or `undefined` when GitHub does not list it.
   * @throws GitHubPublicKeysUnavailableError when the list is needed and cannot be fetched
   */
  async find(identifier: string): Promise<KeyObject | undefined> {
    const now = this.clock();
    if (!this.keys || now - this.fetchedAt >= this.cacheTtlMs) return (await this.load()).get(identifier);
    const key = this.keys.get(identifier);
    if (key || now - this.fetchedAt < this.minRefreshIntervalMs) return key;
    return (await this.load()).get(identifier);
  }

  private load(): Promise<Map<string, KeyObject>> {
    this.pending ??= this.download().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async download(): Promise<Map<string, KeyObject>> {
    let body: unknown;
    try {
      const response = await this.fetch(this.url, {
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (cause) {
      throw new GitHubPublicKeysUnavailableError({ cause });
    }
    const list = (body as { public_keys?: unknown })?.public_keys;
    if (!Array.isArray(list)) throw new GitHubPublicKeysUnavailableError({ cause: new Error('no public_keys list') });
    const keys = new Map<string, KeyObject>();
    for (const entry of list as { key_identifier?: unknown; key?: unknown }[]) {
      if (typeof entry?.key_identifier !== 'string' || typeof entry.key !== 'string') continue;
      try {
        keys.set(entry.key_identifier, createPublicKey(entry.key));
      } catch {
        // A key that does not parse verifies nothing; the others still do.
      }
    }
    this.keys = keys;
    this.fetchedAt = this.clock();
    return keys;
  }
}
