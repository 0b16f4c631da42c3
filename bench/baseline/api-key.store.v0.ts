// The store as shipped in v0.1 (commit 1832118), kept to measure the hot path before/after in one run.
// Only change: it also reads the hot columns added since (remainingUses), which today's guard needs.
import { In, type DataSource, type EntityMetadata } from 'typeorm';
import { ApiKeyStoreUnavailableError } from '../../lib/api-key.errors.js';
import type { ApiKeyColumns } from '../../lib/storage/index.js';

/** The columns the hot path reads: everything needed to decide, nothing more. */
type StoredApiKey = Pick<
  ApiKeyColumns,
  'id' | 'name' | 'ownerId' | 'scopes' | 'metadata' | 'expiresAt' | 'revokedAt' | 'hash'
>;

const V01_COLUMNS = ['id', 'name', 'ownerId', 'scopes', 'metadata', 'expiresAt', 'revokedAt', 'hash'];
const LATER_HOT_COLUMNS = ['remainingUses'];

/**
 * What the guard needs from storage. One implementation ships (TypeORM);
 * the interface keeps the hot path independent of it.
 */
interface ApiKeyStore {
  /** The row with this hash, revoked and expired ones included, in exactly one statement. */
  findByHash(hash: string): Promise<StoredApiKey | null>;
  /** Records use of these keys at `at`, in one statement. */
  markUsed(ids: readonly string[], at: Date): Promise<void>;
}

/**
 * The TypeORM store. The lookup SQL is built once from the entity metadata
 * (so table name, quoting and placeholders follow the driver) and run through
 * `DataSource.query`: no query builder and no entity hydration per request.
 */
export class V0TypeOrmApiKeyStore implements ApiKeyStore {
  private lookupSql?: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly entity: typeof ApiKeyColumns,
  ) {}

  async findByHash(hash: string): Promise<StoredApiKey | null> {
    let rows: Record<string, unknown>[];
    try {
      rows = await this.dataSource.query(this.sql(), [hash]);
    } catch (cause) {
      throw new ApiKeyStoreUnavailableError({ cause });
    }
    return rows.length === 0 ? null : this.hydrate(rows[0]);
  }

  async markUsed(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.dataSource.getRepository(this.entity).update({ id: In([...ids]) }, { lastUsedAt: at });
    } catch (cause) {
      throw new ApiKeyStoreUnavailableError({ cause });
    }
  }

  private hotColumns(): string[] {
    const metadata = this.metadata();
    return [...V01_COLUMNS, ...LATER_HOT_COLUMNS.filter((c) => metadata.findColumnWithPropertyName(c))];
  }

  private metadata(): EntityMetadata {
    return this.dataSource.getMetadata(this.entity);
  }

  private sql(): string {
    if (!this.lookupSql) {
      const qb = this.dataSource.createQueryBuilder().from(this.entity, 'k');
      qb.select(`k.id`, 'id');
      for (const column of this.hotColumns().slice(1)) qb.addSelect(`k.${column}`, column);
      [this.lookupSql] = qb.where('k.hash = :hash', { hash: '' }).getQueryAndParameters();
    }
    return this.lookupSql;
  }

  private hydrate(raw: Record<string, unknown>): StoredApiKey {
    const driver = this.dataSource.driver;
    const metadata = this.metadata();
    const row: Record<string, unknown> = {};
    for (const property of this.hotColumns()) {
      const column = metadata.findColumnWithPropertyName(property)!;
      row[property] = driver.prepareHydratedValue(raw[property], column);
    }
    return row as unknown as StoredApiKey;
  }
}
