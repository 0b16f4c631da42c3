import type { DataSource } from 'typeorm';
import { prefixOfHint } from '../../lifecycle/key-factory.js';
import { apiKeyEntityFor } from '../../storage/api-key.entity.js';

/** How many of the newest keys `issue` looks at to name the prefixes in use. */
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
 * The prefixes of the newest active keys, most used first, as a sentence to
 * add to a refusal that asks for `--prefix` (`''` for a table without keys).
 */
export async function prefixHint(dataSource: DataSource, tableName: string | undefined): Promise<string> {
  const counts = [...(await countKeyPrefixes(dataSource, tableName, SAMPLE)).entries()].sort((a, b) => b[1] - a[1]);
  if (counts.length === 0) return '';
  const listed = counts.map(([prefix, count]) => `"${prefix}" (${count})`).join(', ');
  return ` The active keys in this table carry the prefix ${listed}: e.g. --prefix ${counts[0][0]}.`;
}
