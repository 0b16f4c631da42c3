import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit, RateLimitBackend, RateLimitCount, RateLimitStorage } from '../policies/rate-limit.js';
import type { DataSource } from 'typeorm';

/**
 * Counts hits per counter key in fixed windows. Every implementation keeps
 * one counter per key, whatever the number of hits, except the
 * `@nestjs/throttler` adapter, whose storage decides.
 */
export interface RateLimitCounter {
  /** Adds one hit to `key` in its current window of `rate.windowMs` and returns the window's count. */
  hit(key: string, rate: RateLimit): Promise<RateLimitCount>;
  /** Takes one hit back (a request another limit refused), where the backend can. */
  giveBack(key: string, rate: RateLimit): Promise<void>;
  /** Stops the backend's timers (the SQL stores' hourly clean-up of expired counters). */
  close?(): void;
}

/**
 * Above any limit `validateRateLimit` accepts: the limiter itself never
 * refuses, the decision is taken against the limit of the key's row, so one
 * limiter serves every limit and window.
 */
const NEVER_REFUSE = 2_000_000_000;

/**
 * A counter on a `rate-limiter-flexible` limiter (memory, Redis, PostgreSQL,
 * MySQL, SQLite): one atomic increment per hit, one counter per key with the
 * window as its expiry.
 */
export class FlexibleRateLimitCounter implements RateLimitCounter {
  /**
   * @param limiter a limiter built with `points` above every limit (see {@link flexibleLimiterOptions}).
   * @param wholeSeconds the backend expires counters in whole seconds (Redis, SQL): windows are rounded up.
   */
  constructor(
    private readonly limiter: RateLimiterAbstract,
    private readonly wholeSeconds: boolean,
  ) {}

  async hit(key: string, rate: RateLimit): Promise<RateLimitCount> {
    let res: RateLimiterRes;
    try {
      res = await this.limiter.consume(key, 1, { customDuration: this.durationOf(rate) });
    } catch (rejection) {
      // A limiter rejects with its result when over its points (not ours, but a
      // host-built limiter may have fewer); any other rejection is a failure.
      if (!isLimiterResult(rejection)) throw rejection;
      res = rejection;
    }
    return { hits: res.consumedPoints, msBeforeReset: Math.max(0, res.msBeforeNext) };
  }

  async giveBack(key: string, rate: RateLimit): Promise<void> {
    await this.limiter.reward(key, 1, { customDuration: this.durationOf(rate) });
  }

  close(): void {
    clearTimeout((this.limiter as unknown as { _clearExpiredTimeoutId?: NodeJS.Timeout })._clearExpiredTimeoutId);
  }

  private durationOf(rate: RateLimit): number {
    return this.wholeSeconds ? Math.ceil(rate.windowMs / 1000) : rate.windowMs / 1000;
  }
}

/** The options every limiter this library builds shares. */
export function flexibleLimiterOptions(): { keyPrefix: string; points: number; duration: number } {
  return { keyPrefix: 'api-key', points: NEVER_REFUSE, duration: 60 };
}

function isLimiterResult(value: unknown): value is RateLimiterRes {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    typeof (value as RateLimiterRes).consumedPoints === 'number' &&
    typeof (value as RateLimiterRes).msBeforeNext === 'number'
  );
}

/**
 * An adapter for a host's `@nestjs/throttler` storage (`rateLimitStorage`).
 * Its in-memory storage keeps one timestamp per hit, so its cost and memory
 * grow with the hits in the window; it cannot take a hit back.
 */
export class ThrottlerStorageCounter implements RateLimitCounter {
  constructor(private readonly storage: RateLimitStorage) {}

  async hit(key: string, rate: RateLimit): Promise<RateLimitCount> {
    const record = await this.storage.increment(`api-key:${key}`, rate.windowMs, rate.limit, 0, 'api-key');
    const hits = record.isBlocked ? Math.max(record.totalHits, rate.limit + 1) : record.totalHits;
    const seconds = record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
    return { hits, msBeforeReset: Math.max(0, seconds) * 1000 };
  }

  async giveBack(): Promise<void> {
    // ThrottlerStorage has no decrement: the hit stays counted (the safe side).
  }
}

/** The `rate-limiter-flexible` module, as `import()` gives it (CommonJS: its exports may sit on `default`). */
export type RateLimiterFlexibleModule = typeof import('rate-limiter-flexible');

/** Loads `rate-limiter-flexible`; replaceable (tests load a module that is not there). */
export type RateLimiterModuleLoader = () => Promise<unknown>;

/** The default loader: the optional peer `rate-limiter-flexible`. */
export const loadRateLimiterFlexible: RateLimiterModuleLoader = () => import('rate-limiter-flexible');

/** The install command named by the boot error when the package is missing. */
export const RATE_LIMITER_INSTALL = 'npm install rate-limiter-flexible';

/** The table the `database` backend counts in (created if missing, at boot). */
export const RATE_LIMIT_TABLE = 'api_key_rate_limits';

/**
 * Loads `rate-limiter-flexible`, or throws an error naming the install
 * command when it is not installed (other load errors pass through as the cause).
 */
export async function requireRateLimiterFlexible(load: RateLimiterModuleLoader): Promise<RateLimiterFlexibleModule> {
  let loaded: unknown;
  try {
    loaded = await load();
  } catch (cause) {
    const code = (cause as { code?: string })?.code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    throw new Error(
      missing
        ? `rate limits need the rate-limiter-flexible package, which is not installed: ${RATE_LIMITER_INSTALL}`
        : `rate-limiter-flexible could not be loaded (${(cause as Error)?.message}); reinstall it: ${RATE_LIMITER_INSTALL}`,
      { cause },
    );
  }
  const module = loaded as RateLimiterFlexibleModule & { default?: RateLimiterFlexibleModule };
  return module.RateLimiterMemory ? module : (module.default ?? module);
}

/**
 * Builds the counter of a backend: in-process memory, Redis (the host's
 * ioredis client) or the key database (PostgreSQL, MySQL / MariaDB, or
 * better-sqlite3, through the DataSource's own pool). A SQL backend's table is
 * created (if missing) before this resolves, so a failure shows at boot.
 */
export async function createRateLimitCounter(
  backend: RateLimitBackend,
  rlf: RateLimiterFlexibleModule,
  dataSource: DataSource | undefined,
): Promise<RateLimitCounter> {
  const base = flexibleLimiterOptions();
  if (backend === 'memory') return new FlexibleRateLimitCounter(new rlf.RateLimiterMemory(base), false);
  if (backend !== 'database') {
    // Fail fast when Redis is not connected (the request gets 503) instead of queueing commands.
    const limiter = new rlf.RateLimiterRedis({ ...base, storeClient: backend.redis, rejectIfRedisNotReady: true });
    return new FlexibleRateLimitCounter(limiter, true);
  }
  if (!dataSource)
    throw new ApiKeyConfigurationError(
      "rateLimitBackend 'database' needs the key DataSource (ApiKeyModule)",
      'rateLimitBackend',
    );
  let ready!: (error?: Error) => void;
  const created = new Promise<void>((resolve, reject) => {
    ready = (error) => (error ? reject(error) : resolve());
  });
  const limiter = sqlLimiter(
    rlf,
    dataSource,
    { ...base, tableName: RATE_LIMIT_TABLE, clearExpiredByTimeout: true },
    ready,
  );
  await created;
  return new FlexibleRateLimitCounter(limiter, true);
}

type SqlLimiterOptions = ReturnType<typeof flexibleLimiterOptions> & {
  tableName: string;
  clearExpiredByTimeout: boolean;
};

/** The SQL limiter of the DataSource's driver, on the DataSource's own pool or connection. */
function sqlLimiter(
  rlf: RateLimiterFlexibleModule,
  dataSource: DataSource,
  common: SqlLimiterOptions,
  ready: (error?: Error) => void,
): InstanceType<RateLimiterFlexibleModule['RateLimiterStoreAbstract']> {
  const driver = dataSource.driver as unknown as Record<string, any>;
  switch (dataSource.options.type) {
    case 'postgres':
      return new rlf.RateLimiterPostgres(
        { ...common, storeClient: driver.master, storeType: 'pool', schemaName: driver.schema },
        ready,
      );
    case 'mysql':
    case 'mariadb':
      return new rlf.RateLimiterMySQL(
        { ...common, storeClient: driver.pool, storeType: 'pool', dbName: driver.database },
        ready,
      );
    case 'better-sqlite3':
      return new rlf.RateLimiterSQLite(
        { ...common, storeClient: driver.databaseConnection, storeType: 'better-sqlite3' },
        ready,
      );
    default:
      throw new ApiKeyConfigurationError(
        `rateLimitBackend 'database' supports postgres, mysql, mariadb and better-sqlite3, not ${dataSource.options.type}`,
        'rateLimitBackend',
      );
  }
}
