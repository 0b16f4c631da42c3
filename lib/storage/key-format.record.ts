import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import type { ApiKeyEventColumns } from './api-key-event.entity.js';
import { insertApiKeyEvents } from './api-key-event.insert.js';

/** The `keyId` of the rows that record the key format: no key's id (key ids are UUIDs). */
export const KEY_FORMAT_KEY_ID = 'key-format';

/** How long recording the format may hold up the boot. */
const RECORD_TIMEOUT_MS = 5000;

/**
 * What a key of this app looks like and which keys it issues, as the app
 * records it at boot for the operator CLI: enough to issue a key the app
 * accepts, and never a secret (the keyed tag is named by its version and a
 * check value of its secret). See {@link recordKeyFormat}.
 */
export interface ApiKeyFormat {
  /** The shape of this record; a reader refuses one it does not know. */
  readonly formatVersion: 1;
  readonly prefix: string;
  /** The environments marked in the prefix (`sk_live_...`), the first the default; empty without. */
  readonly environments: readonly string[];
  readonly entropyBits: number;
  readonly defaultLifetimeMs: number | null;
  readonly maxLifetimeMs: number | null;
  readonly maxKeysPerOwner: number | null;
  /** The keyed tag of new keys: its version and a check value of its secret (`KeyTagger.checkValue`). */
  readonly keyTag: { readonly version: string; readonly check: string; readonly acceptUntagged: boolean } | null;
}

/** The newest recorded format, when it was recorded, or why it cannot be read. */
export interface RecordedKeyFormat {
  readonly recordedAt: Date;
  /** `null` when the row holds a shape this version does not know (see `problem`). */
  readonly format: ApiKeyFormat | null;
  readonly problem?: string;
}

/** The format of a setup's resolved options. Pure. */
export function keyFormatOf(options: ResolvedApiKeyOptions): ApiKeyFormat {
  const tagger = options.keyTagger;
  return {
    formatVersion: 1,
    prefix: options.prefix,
    environments: [...options.environments],
    entropyBits: options.entropyBits,
    defaultLifetimeMs: options.defaultLifetimeMs ?? null,
    maxLifetimeMs: options.maxLifetimeMs ?? null,
    maxKeysPerOwner: options.maxKeysPerOwner ?? null,
    keyTag: tagger
      ? { version: tagger.currentVersion, check: tagger.checkValue(), acceptUntagged: tagger.acceptUntagged }
      : null,
  };
}

const isCount = (value: unknown) => value === null || (typeof value === 'number' && value > 0);

/** A recorded format read back, checked field by field: `null` for a shape this version does not know. Pure. */
export function parseKeyFormat(details: unknown): ApiKeyFormat | null {
  const d = details as Partial<Record<keyof ApiKeyFormat, unknown>> | null;
  if (typeof d !== 'object' || d === null || d.formatVersion !== 1) return null;
  const tag = d.keyTag as Record<string, unknown> | null | undefined;
  const fits =
    typeof d.prefix === 'string' &&
    Array.isArray(d.environments) &&
    d.environments.every((env) => typeof env === 'string') &&
    typeof d.entropyBits === 'number' &&
    isCount(d.defaultLifetimeMs) &&
    isCount(d.maxLifetimeMs) &&
    isCount(d.maxKeysPerOwner) &&
    (tag === null ||
      (typeof tag === 'object' &&
        typeof tag.version === 'string' &&
        typeof tag.check === 'string' &&
        typeof tag.acceptUntagged === 'boolean'));
  return fits ? (d as unknown as ApiKeyFormat) : null;
}

/**
 * The newest key format recorded in the events table `entity`, or
 * `undefined` when none is. Read on the primary under replication.
 * @throws the driver's error when the table cannot be read
 */
export async function readKeyFormat(
  dataSource: DataSource,
  entity: typeof ApiKeyEventColumns,
): Promise<RecordedKeyFormat | undefined> {
  const runner = dataSource.createQueryRunner('master');
  try {
    const row = await runner.manager.findOne(entity, {
      where: { keyId: KEY_FORMAT_KEY_ID, type: 'key_format' },
      order: { at: 'DESC', id: 'DESC' },
    });
    if (!row) return undefined;
    const format = parseKeyFormat(row.details);
    const version = (row.details as { formatVersion?: unknown } | null)?.formatVersion;
    return format
      ? { recordedAt: row.at, format }
      : {
          recordedAt: row.at,
          format: null,
          problem: `the recorded key format has a shape this version does not read (formatVersion ${JSON.stringify(version)}): upgrade nestjs-opaque-keys`,
        };
  } finally {
    await runner.release();
  }
}

/**
 * Records this setup's key format (see {@link ApiKeyFormat}) as one row of
 * the events table (`type` `key_format`, `keyId` {@link KEY_FORMAT_KEY_ID}),
 * only when it differs from the newest one recorded: one SELECT at each boot,
 * one INSERT when the format changed. Called once, at boot. Never fails the
 * boot: the app serves keys without it, so a failure (a read-only user, tables
 * that are migrated after the start with `schemaCheck: false`) logs one warning.
 * Does nothing with `recordKeyFormat: false`.
 * @returns what it did
 */
export async function recordKeyFormat(
  dataSource: DataSource,
  entity: typeof ApiKeyEventColumns,
  options: ResolvedApiKeyOptions,
  logger: Pick<Logger, 'warn'> = new Logger('ApiKeyModule'),
): Promise<'recorded' | 'unchanged' | 'off' | 'failed'> {
  if (!options.recordKeyFormat) return 'off';
  const format = keyFormatOf(options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${RECORD_TIMEOUT_MS} ms`)), RECORD_TIMEOUT_MS);
    timer.unref();
  });
  const record = async () => {
    const newest = await readKeyFormat(dataSource, entity);
    if (newest && JSON.stringify(newest.format) === JSON.stringify(format)) return 'unchanged' as const;
    const now = Date.now();
    const event = { keyId: KEY_FORMAT_KEY_ID, ownerId: null, type: 'key_format' as const, actor: 'boot' };
    await insertApiKeyEvents(dataSource.manager, entity, [{ ...event, details: { ...format } }], now);
    return 'recorded' as const;
  };
  try {
    return await Promise.race([record(), timeout]);
  } catch (error) {
    logger.warn(
      `nestjs-opaque-keys: could not record the key format for the operator CLI ` +
        `(${String((error as Error)?.message ?? error).split('\n')[0]}). The app starts; the CLI reads the format ` +
        'recorded before, if any, or asks for --prefix. Start the app again once the events table is writable, or ' +
        'set ApiKeyModule.forRoot({ recordKeyFormat: false }) for a setup that must not write at boot.',
    );
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}
