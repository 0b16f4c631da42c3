import type { StoredApiKey } from '../storage/api-key.store.js';

/**
 * Where a presented key that is not of the setup's own format may be stored: keys moved in from another system
 * (the `nestjs-opaque-keys/import` feature) keep working with the string their holders already have.
 */
export interface LegacyKeyMatch {
  /**
   * The values of the `hash` column its row may be stored under (64 hex characters each), first the key's own
   * SHA-256 (a row already converted or upgraded), then, for a source whose hash the library cannot compute,
   * a lookup value derived from the key's public part. Looked up in this order until one is found, so a key
   * found under its own SHA-256 costs one lookup; when every one misses, the first is looked up once more (a
   * first use elsewhere may have upgraded the row between two lookups).
   */
  readonly hashes: readonly string[];
  /** The environment the key counts as (`null` without environments). */
  readonly environment: string | null;
}

/**
 * A feature that accepts keys of other systems' formats (see `ApiKeyFeature.legacyKeys`). Consulted only for a
 * presented key the setup's own format refuses, so native keys pay nothing for it.
 */
export interface ApiKeyLegacyKeys {
  /** The stored forms of `key` if it has one of the accepted legacy formats (no I/O), or `null`. */
  match(key: string): LegacyKeyMatch | null;
  /**
   * For a row found under a lookup value other than the key's SHA-256: checks `key` against the source system's
   * hash and, when it holds, upgrades the row to the native hash (the one write on this path, once per key).
   * @throws ApiKeyStoreUnavailableError when the database cannot answer
   */
  confirm(key: string, row: StoredApiKey): Promise<boolean>;
}
