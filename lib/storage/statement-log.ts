import type { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs one statement the way TypeORM's own query runners report it to the
 * DataSource's logger: `logQuery` before, `logQueryError` on failure and
 * `logQuerySlow` past `maxQueryExecutionTime`. Synchronous when `run` is
 * (better-sqlite3), so the caller's answer can stay synchronous too. `run` is
 * given `argument`, so a caller can pass one function made once instead of a
 * closure per statement.
 */
export function runLogged<T, A = undefined>(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  runner: QueryRunner | undefined,
  run: (argument: A) => T,
  argument?: A,
): T {
  const { logger } = dataSource;
  logger.logQuery(sql, parameters, runner);
  // The clock is read only when slow statements are logged at all.
  const started = dataSource.options.maxQueryExecutionTime ? Date.now() : 0;
  let result: T;
  try {
    result = run(argument as A);
  } catch (error) {
    return failed(dataSource, sql, parameters, runner, started, error);
  }
  if (!(result instanceof Promise)) {
    if (started) noteSlow(dataSource, sql, parameters, runner, started);
    return result;
  }
  return result.then(
    (value) => {
      if (started) noteSlow(dataSource, sql, parameters, runner, started);
      return value;
    },
    (error: unknown) => failed(dataSource, sql, parameters, runner, started, error),
  ) as T;
}

/** `logQuerySlow` when the statement took longer than `maxQueryExecutionTime`. */
function noteSlow(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  runner: QueryRunner | undefined,
  started: number,
): void {
  const elapsed = Date.now() - started;
  if (elapsed > dataSource.options.maxQueryExecutionTime!)
    dataSource.logger.logQuerySlow(elapsed, sql, parameters, runner);
}

/** Reports a failed statement (`logQuerySlow` first when it was slow, then `logQueryError`) and throws its error. */
function failed(
  dataSource: DataSource,
  sql: string,
  parameters: unknown[],
  runner: QueryRunner | undefined,
  started: number,
  error: unknown,
): never {
  if (started) noteSlow(dataSource, sql, parameters, runner, started);
  dataSource.logger.logQueryError(error as Error, sql, parameters, runner);
  throw error;
}
