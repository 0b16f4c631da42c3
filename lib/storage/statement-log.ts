import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs one statement the way TypeORM's own query runners report it to the
 * DataSource's logger: `logQuery` before, `logQueryError` on failure and
 * `logQuerySlow` past `maxQueryExecutionTime`. Synchronous when `run` is
 * (better-sqlite3), so the caller's answer can stay synchronous too.
 */
export function runLogged<T>(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  runner: QueryRunner | undefined,
  run: () => T,
): T {
  const { logger, options } = dataSource;
  logger.logQuery(sql, parameters, runner);
  const started = Date.now();
  const slow = () => {
    const elapsed = Date.now() - started;
    if (options.maxQueryExecutionTime && elapsed > options.maxQueryExecutionTime)
      logger.logQuerySlow(elapsed, sql, parameters, runner);
  };
  const failed = (error: unknown): never => {
    logger.logQueryError(error as Error, sql, parameters, runner);
    throw error;
  };
  let result: T;
  try {
    result = run();
  } catch (error) {
    slow();
    return failed(error);
  }
  if (!(result instanceof Promise)) {
    slow();
    return result;
  }
  return result.then(
    (value) => {
      slow();
      return value;
    },
    (error: unknown) => {
      slow();
      return failed(error);
    },
  ) as T;
}
