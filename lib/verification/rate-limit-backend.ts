import type { DataSource } from 'typeorm';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import type { RateLimitBackend } from '../policies/rate-limit.js';
import { FlexibleRateLimitCounter, flexibleLimiterOptions, type RateLimitCounter } from './rate-limit-counter.js';

/** The `rate-limiter-flexible` module, as `import()` gives it (CommonJS: its exports may sit on `default`). */
export type RateLimiterFlexibleModule = typeof import('rate-limiter-flexible');

/** Loads `rate-limiter-flexible`; replaceable (tests load a module that is not there). */
export type RateLimiterModuleLoader = () => Promise<unknown>;

/** Injection token of the {@link RateLimiterModuleLoader} the rate limiter uses. */
export const RATE_LIMITER_MODULE_LOADER = Symbol('RATE_LIMITER_MODULE_LOADER');

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
