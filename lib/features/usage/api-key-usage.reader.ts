import { Inject, Injectable } from '@nestjs/common';
import { Between, In } from 'typeorm';
import { API_KEY_OPTIONS } from '../../api-key.constants.js';
import { ResolvedApiKeyOptions } from '../../api-key.options.js';
import { boundsWhere } from '../../lifecycle/acting-key.js';
import { KeyQueries } from '../../lifecycle/api-key.queries.js';
import type { ActingOptions } from '../../lifecycle/api-key.record.js';
import { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { ApiKeyValidationError, asStoreUnavailable } from '../../api-key.errors.js';
import { API_KEY_USAGE_ENTITY, type ApiKeyUsageColumns, type ApiKeyUsageOutcome } from './api-key-usage.entity.js';
import { API_KEY_USAGE_OPTIONS, type ResolvedUsageOptions } from './usage.options.js';

const HOUR_MS = 3_600_000;
const OUTCOMES: readonly ApiKeyUsageOutcome[] = ['verified', 'invalid', 'forbidden', 'rate_limited', 'out_of_credits'];
/** The most points one `usage` call returns. */
export const MAX_USAGE_POINTS = 10_000;

/** Query of `ApiKeyUsageReader.series`: one key's, or all of one owner's keys', from `from` to `to` (exclusive). */
export type ApiKeyUsageQuery = ({ keyId: string; ownerId?: never } | { ownerId: string; keyId?: never }) & {
  from: Date;
  to: Date;
  /** The points' width: `'hour'` or `'day'` (UTC). Default: the `usage` option's granularity. */
  granularity?: 'hour' | 'day';
};

/** One bucket of a usage series. */
export interface ApiKeyUsagePoint {
  /** The bucket's start (UTC). */
  readonly start: Date;
  readonly counts: Readonly<Record<ApiKeyUsageOutcome, number>>;
  readonly total: number;
}

/** What `ApiKeyUsageReader.series` answers: one point per bucket (zero-filled), and the totals. */
export interface ApiKeyUsageSeries {
  readonly granularity: 'hour' | 'day';
  readonly points: ApiKeyUsagePoint[];
  readonly totals: Readonly<Record<ApiKeyUsageOutcome, number>>;
}

const zero = (): Record<ApiKeyUsageOutcome, number> =>
  Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<ApiKeyUsageOutcome, number>;

/**
 * Reads usage series: requests per bucket and outcome of one key, or of all an owner's keys, from `from` to
 * `to`. Counts are written behind: the last flush interval's may not be there yet.
 * @example
 * const week = await usage.series({ keyId, from: new Date(Date.now() - 7 * 86_400_000), to: new Date() });
 */
@Injectable()
export class ApiKeyUsageReader {
  constructor(
    @Inject(API_KEY_USAGE_OPTIONS) private readonly options: ResolvedUsageOptions,
    @Inject(API_KEY_OPTIONS) private readonly keyOptions: ResolvedApiKeyOptions,
    private readonly db: ApiKeyDatabase,

    @Inject(API_KEY_USAGE_ENTITY) private readonly usage: typeof ApiKeyUsageColumns,
  ) {}

  /** The bucket counts are kept in (`withUsage({ granularity })`). */
  get granularity(): 'hour' | 'day' {
    return this.options.granularity;
  }

  /**
   * The series of one key, or of all an owner's keys. With `actingAs`, a key it reaches, or an owner it reaches
   * (counting only keys of its environment), as `ApiKeyService.get` and `list` would.
   * @throws ApiKeyValidationError, ApiKeyNotFoundError, ApiKeyDelegationError, ApiKeyStoreUnavailableError
   */
  async series(query: ApiKeyUsageQuery, acting: ActingOptions = {}): Promise<ApiKeyUsageSeries> {
    const reads = new KeyQueries({ db: this.db, options: this.keyOptions });
    const keys = boundsWhere(this.keyOptions, await reads.trailBounds(query ?? {}, acting));
    const stored = this.options.granularity;
    const granularity = query?.granularity ?? stored;
    if (granularity !== 'hour' && granularity !== 'day')
      throw new ApiKeyValidationError("granularity must be 'hour' or 'day'");
    if (granularity === 'hour' && stored === 'day')
      throw new ApiKeyValidationError('usage is kept by day: ask for granularity day');
    const { from, to } = query;
    if (!(from instanceof Date) || !(to instanceof Date) || !(from.getTime() < to.getTime()))
      throw new ApiKeyValidationError('from and to must be Dates, from before to');
    const step = granularity === 'day' ? 24 * HOUR_MS : HOUR_MS;
    const first = Math.floor(from.getTime() / step) * step;
    if ((to.getTime() - first) / step > MAX_USAGE_POINTS)
      throw new ApiKeyValidationError(`at most ${MAX_USAGE_POINTS} points per call`);
    try {
      let ids: string[];
      if (typeof query.keyId === 'string') ids = [query.keyId];
      else if (typeof query.ownerId === 'string')
        ids = (
          await this.db.dataSource.manager.find(this.db.keys, {
            where: { ...keys, ownerId: query.ownerId },
            select: { id: true },
          })
        ).map((row) => row.id);
      else throw new ApiKeyValidationError('give keyId or ownerId');
      const rows = ids.length
        ? await this.db.dataSource.manager.find(this.usage, {
            where: { keyId: In(ids), hour: Between(first / HOUR_MS, Math.ceil(to.getTime() / HOUR_MS) - 1) },
          })
        : [];
      const points = new Map<number, Record<ApiKeyUsageOutcome, number>>();
      for (let at = first; at < to.getTime(); at += step) points.set(at, zero());
      const totals = zero();
      for (const row of rows) {
        const start = Math.floor((row.hour * HOUR_MS) / step) * step;
        const counts = points.get(start);
        if (!counts || !(row.outcome in counts)) continue;
        counts[row.outcome] += Number(row.count);
        totals[row.outcome] += Number(row.count);
      }
      return {
        granularity,
        points: [...points].map(([start, counts]) => ({
          start: new Date(start),
          counts,
          total: OUTCOMES.reduce((sum, o) => sum + counts[o], 0),
        })),
        totals,
      };
    } catch (error) {
      throw asStoreUnavailable(error);
    }
  }
}
