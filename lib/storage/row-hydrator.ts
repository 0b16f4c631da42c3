import type { DataSource, EntityMetadata, EntityTarget } from 'typeorm';

type ColumnMetadata = EntityMetadata['columns'][number];

/** A row as a driver returns it: by column alias, or (better-sqlite3's raw mode) as values in select order. */
export type DriverRow = Record<string, unknown> | readonly unknown[];

/** Drivers whose `prepareHydratedValue` returns a string or integer column's value unchanged. */
const PLAIN_DRIVERS: ReadonlySet<string> = new Set(['better-sqlite3', 'sqlite', 'postgres', 'mysql', 'mariadb']);
/** Column types those drivers hydrate as the value itself (strings and integers as their drivers read them). */
const PLAIN_TYPES: ReadonlySet<unknown> = new Set(['varchar', 'character varying', 'text', 'int', 'integer', String]);

/**
 * Turns driver rows of the given properties into entity values, as TypeORM's
 * `prepareHydratedValue` does, without calling it where it would return the
 * value unchanged: a `null` of a column without a transformer (on every
 * driver), and a string or integer column of the drivers listed above. The
 * rest (dates, JSON, transformers, any other driver) goes through the driver.
 * Built once per store; the columns are resolved on first use.
 */
export class RowHydrator<T> {
  private columns?: { column: ColumnMetadata; plain: boolean }[];
  /** Every property at `null`: each row starts as a copy of it, so every row has the same shape. */
  private template?: Record<string, unknown>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly entity: EntityTarget<object>,
    private readonly properties: readonly string[],
  ) {}

  /** The entity value of one row (a new object each time: callers may keep or change it). */
  hydrate(raw: DriverRow): T {
    const columns = (this.columns ??= this.resolve());
    const driver = this.dataSource.driver;
    const byIndex = Array.isArray(raw);
    // A copy of the template, filled in place: stores into properties it has, no change of shape per column.
    const row: Record<string, unknown> = { ...this.template };
    for (let i = 0; i < columns.length; i++) {
      const { column, plain } = columns[i];
      const value = byIndex ? raw[i] : (raw as Record<string, unknown>)[column.propertyName];
      row[column.propertyName] =
        plain || (value === null && !column.transformer) ? value : driver.prepareHydratedValue(value, column);
    }
    return row as T;
  }

  private resolve(): { column: ColumnMetadata; plain: boolean }[] {
    const metadata = this.dataSource.getMetadata(this.entity);
    this.template = Object.fromEntries(this.properties.map((property) => [property, null]));
    const plainDriver = PLAIN_DRIVERS.has(this.dataSource.options.type);
    return this.properties.map((property) => {
      const column = metadata.findColumnWithPropertyName(property)!;
      return { column, plain: plainDriver && !column.transformer && PLAIN_TYPES.has(column.type) };
    });
  }
}
