import { Inject, Injectable } from '@nestjs/common';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import type { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { constantTimeEqual, hashApiKey } from '../../key/key-hash.js';
import { ApiKeyChanges } from '../../lifecycle/api-key.changes.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import type { StoredApiKey } from '../../storage/api-key.store.js';
import type { ApiKeyLegacyKeys, LegacyKeyMatch } from '../../verification/legacy-keys.js';
import { API_KEY_IMPORT_ENTITY, type ApiKeyImportColumns } from './api-key-import.entity.js';
import { API_KEY_IMPORT_OPTIONS, type ResolvedImportOptions } from './import.options.js';
import { lookupValueOf, matchLegacyFormat, verifyDjangoHash } from './legacy-hash.js';

/**
 * The guard's view of imported keys (`ApiKeyFeature.legacyKeys`): a key of a configured legacy format is looked
 * up under its SHA-256 (a key converted at import, or upgraded since) and, for a `django` format, under the lookup
 * value of its public part. A row found there is confirmed against the source's hash and, when it holds, upgraded
 * to the native hash in one change (the one write of this path, once per key; the cache entry invalidated).
 */
@Injectable()
export class ImportedLegacyKeys implements ApiKeyLegacyKeys {
  /** The environment of each format's keys (`null` without environments). */
  private readonly environments: ReadonlyMap<string, string | null>;

  constructor(
    @Inject(API_KEY_IMPORT_OPTIONS) private readonly options: ResolvedImportOptions,
    @Inject(API_KEY_OPTIONS) keyOptions: ResolvedApiKeyOptions,
    private readonly db: ApiKeyDatabase,
    private readonly changes: ApiKeyChanges,
    @Inject(API_KEY_IMPORT_ENTITY) private readonly imports: typeof ApiKeyImportColumns,
  ) {
    this.environments = new Map(
      options.formats.map((format, index) => [format.name, legacyEnvironment(keyOptions, format.environment, index)]),
    );
  }

  match(key: string): LegacyKeyMatch | null {
    const hit = matchLegacyFormat(this.options.formats, key);
    if (!hit) return null;
    const native = hashApiKey(key);
    const hashes = hit.publicPart === undefined ? [native] : [native, lookupValueOf(hit.format.name, hit.publicPart)];
    return { hashes, environment: this.environments.get(hit.format.name) ?? null };
  }

  /** First uses under way, by key id and key hash: concurrent requests with the same key share one upgrade. */
  private readonly upgrading = new Map<string, Promise<boolean>>();

  confirm(key: string, row: StoredApiKey): Promise<boolean> {
    const at = `${row.id}:${hashApiKey(key)}`;
    let pending = this.upgrading.get(at);
    if (!pending) {
      pending = this.confirmOnce(key, row).finally(() => this.upgrading.delete(at));
      this.upgrading.set(at, pending);
    }
    return pending;
  }

  private async confirmOnce(key: string, row: StoredApiKey): Promise<boolean> {
    const stored = await this.db.run((em) =>
      em.findOne(this.imports, { where: { keyId: row.id }, select: { keyId: true, foreignHash: true } }),
    );
    const native = hashApiKey(key);
    // Upgraded by a request that got there first: the row holds the key's own hash now.
    if (!stored?.foreignHash) return this.holdsNativeHash(row.id, native);
    if (!(await verifyDjangoHash(key, stored.foreignHash))) return false;
    await this.changes.run(async ({ em, invalidate }) => {
      // Conditional: a concurrent upgrade leaves nothing to change.
      await em.update(this.db.keys, { id: row.id, hash: row.hash }, { hash: native });
      await em.update(this.imports, { keyId: row.id }, { foreignHash: null });
      invalidate([row.id]);
    });
    return true;
  }

  private async holdsNativeHash(id: string, native: string): Promise<boolean> {
    const current = await this.db.run((em) => em.findOne(this.db.keys, { where: { id }, select: { hash: true } }));
    return current !== null && constantTimeEqual(current.hash, native);
  }
}

/**
 * The environment a format's keys count as: the one it names (which must be one of the module's), else the
 * first, or `null` without environments.
 * @throws ApiKeyConfigurationError at boot for an environment the module does not have
 */
export function legacyEnvironment(
  keyOptions: ResolvedApiKeyOptions,
  environment: string | undefined,
  index: number,
): string | null {
  if (keyOptions.environments.length === 0) {
    if (environment === undefined) return null;
    throw new ApiKeyConfigurationError(
      `import.formats[${index}].environment: the module has no environments`,
      `import.formats[${index}].environment`,
    );
  }
  if (environment === undefined) return keyOptions.environments[0];
  if (!keyOptions.environments.includes(environment))
    throw new ApiKeyConfigurationError(
      `import.formats[${index}].environment must be one of ${keyOptions.environments.join(', ')}`,
      `import.formats[${index}].environment`,
    );
  return environment;
}

/** The native prefix of an environment (what a rotation of an imported key issues). */
export function nativePrefixOf(keyOptions: ResolvedApiKeyOptions, environment: string | null): string {
  for (const [prefix, env] of keyOptions.prefixes) if (env === environment) return prefix;
  return keyOptions.prefix;
}
