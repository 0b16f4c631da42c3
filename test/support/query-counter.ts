import type { Logger as TypeOrmLogger } from 'typeorm';

/** A TypeORM logger that records every statement it is shown, to count them. */
export class QueryCounter implements TypeOrmLogger {
  readonly queries: string[] = [];

  logQuery(query: string): void {
    this.queries.push(query);
  }
  logQueryError(_error: string | Error, query: string): void {
    this.queries.push(query);
  }
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** Statements run while `work` runs (transaction control included). */
  async during(work: () => Promise<unknown>): Promise<string[]> {
    const start = this.queries.length;
    await work();
    return this.queries.slice(start);
  }
}
