import type { DataSource } from 'typeorm';
import { prefixOfHint } from '../../lifecycle/key-factory.js';
import { apiKeyEntityFor } from '../../storage/api-key.entity.js';
import { CliError, ExitCode } from './exit-codes.js';

/** How many of the newest keys `issue` looks at to guess the app's prefix. */
const SAMPLE = 100;

/** Does a stored key's prefix (`acme`, `acme_live`) belong to the configured prefix? */
export function fitsPrefix(keyPrefix: string, prefix: string): boolean {
  return keyPrefix === prefix || keyPrefix.startsWith(`${prefix}_`); // `acme_live` with environments
}

/**
 * How many keys (at most `limit`, not revoked, newest first) carry each
 * prefix, read from their hints.
 */
export async function countKeyPrefixes(
  dataSource: DataSource,
  tableName: string | undefined,
  limit: number,
): Promise<Map<string, number>> {
  const rows: { hint: string }[] = await dataSource
    .createQueryBuilder()
    .select('k.hint', 'hint')
    .from(apiKeyEntityFor(tableName), 'k')
    .where('k.revokedAt IS NULL')
    .orderBy('k.createdAt', 'DESC')
    .limit(limit)
    .getRawMany();
  const counts = new Map<string, number>();
  for (const { hint } of rows) counts.set(prefixOfHint(hint), (counts.get(prefixOfHint(hint)) ?? 0) + 1);
  return counts;
}

/**
 * Refuses to issue a key with the default prefix into a table whose keys all
 * carry another one: the app those keys belong to would reject it as
 * malformed. An explicit `--prefix` (or `API_KEY_PREFIX`) is trusted.
 * @throws CliError (usage) naming the prefix to pass
 */
export async function assertIssuePrefix(
  dataSource: DataSource,
  tableName: string | undefined,
  explicitPrefix: string | undefined,
): Promise<void> {
  if (explicitPrefix) return;
  const counts = await countKeyPrefixes(dataSource, tableName, SAMPLE);
  if (counts.size === 0 || [...counts.keys()].some((prefix) => fitsPrefix(prefix, 'sk'))) return;
  const [likely] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  throw new CliError(
    `the keys in this table use the prefix ${JSON.stringify(likely)}, not the default "sk": a key issued now would be ` +
      `rejected by the app as malformed. Pass the app's prefix: --prefix ${likely} (or API_KEY_PREFIX=${likely}).`,
    ExitCode.usage,
  );
}
