import type { DataSource } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { asStoreUnavailable } from '../api-key.errors.js';

/** Where a key's balance is, as its row said when it was read. */
export interface CreditHolder {
  /** The presented key. */
  readonly id: string;
  /** Its rotation family (`familyId`, or its own id for a key from before families). */
  readonly familyId: string;
  /** Whether the presented key held the balance (it had no successor) when read. */
  readonly holdsBalance: boolean;
  /** Whether a refill is configured: the spend then applies a due refill first. */
  readonly refills: boolean;
}

/** The SQL texts of the spend, built once per DataSource from the entity's metadata. */
interface SpendSql {
  /** SET expressions: the balance first (MySQL assigns left to right), then the refill anchor. */
  readonly set: Record<string, () => string>;
  readonly enough: string;
}

/**
 * Spends credits (uses) of keys that have them, atomically: ONE conditional
 * UPDATE per request, computed entirely in SQL, so concurrent requests never
 * spend more than there is, on any database:
 *
 * ```sql
 * UPDATE api_keys SET remainingUses = <available> - :cost [, refilledAtMs = <anchor>]
 * WHERE <holder> AND <available> >= :cost
 * ```
 *
 * `<available>` is the balance with a due refill applied (`refillAmount` when
 * `:now` is at least one `refillIntervalMs` after `refilledAtMs` and the
 * balance is lower), and the anchor moves by whole intervals, so a refill is a
 * function of the row and `now` alone: nothing is read and written back in
 * JavaScript, and a refused spend writes nothing (the next one computes the
 * same refill). `<holder>` is the family's newest key, the one row that holds
 * a rotation family's balance: the presented key by id (the primary key) when
 * it held the balance as read, else (a key in its rotation grace period)
 * `familyId = :family AND replacedById IS NULL` (the family index).
 * Keys without a balance never get here.
 */
export class CreditSpender {
  private plain?: SpendSql;
  private refilling?: SpendSql;
  private columns?: Record<'id' | 'familyId' | 'replacedById', string>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly entity: typeof ApiKeyColumns,
  ) {}

  /**
   * Spends `cost` credits (a positive integer) of the balance `holder` points
   * at, at `now` (epoch ms; applies a due refill). True when they were there
   * and are now spent. One statement, also when it finds nothing: a request
   * that read its key just before that key's rotation committed finds the
   * balance moved and is refused (never granted twice); the next one spends
   * from the successor.
   * @throws ApiKeyStoreUnavailableError
   */
  async spend(holder: CreditHolder, cost: number, now: number = Date.now()): Promise<boolean> {
    const c = (this.columns ??= {
      id: this.escaped('id'),
      familyId: this.escaped('familyId'),
      replacedById: this.escaped('replacedById'),
    });
    const parameters = { id: holder.id, family: holder.familyId, cost, now };
    const target = holder.holdsBalance
      ? `${c.id} = :id AND ${c.replacedById} IS NULL`
      : `${c.familyId} = :family AND ${c.replacedById} IS NULL`;
    return this.run(holder, target, parameters);
  }

  private async run(holder: CreditHolder, target: string, parameters: Record<string, unknown>): Promise<boolean> {
    const sql = holder.refills ? (this.refilling ??= this.refillingSql()) : (this.plain ??= this.plainSql());
    try {
      const result = await this.dataSource
        .createQueryBuilder()
        .update(this.entity)
        .set(sql.set as never)
        .where(`${target} AND ${sql.enough}`, parameters)
        .execute();
      return result.affected === 1;
    } catch (cause) {
      throw asStoreUnavailable(cause);
    }
  }

  /** A balance without refill: `remainingUses - :cost WHERE remainingUses >= :cost`. */
  private plainSql(): SpendSql {
    const remaining = this.escaped('remainingUses');
    return { set: { remainingUses: () => `${remaining} - :cost` }, enough: `${remaining} >= :cost` };
  }

  /** A balance with refill: the due refill is applied in the same statement. */
  private refillingSql(): SpendSql {
    const remaining = this.escaped('remainingUses');
    const amount = this.escaped('refillAmount');
    const interval = this.escaped('refillIntervalMs');
    const at = this.escaped('refilledAtMs');
    const type = this.dataSource.options.type;
    const mysql = type === 'mysql' || type === 'mariadb';
    // `:now` as an integer of the column's type; whole intervals elapsed, by integer division.
    const now = type === 'postgres' ? 'CAST(:now AS bigint)' : mysql ? ':now' : 'CAST(:now AS INTEGER)';
    const intervals = mysql ? `(${now} - ${at}) DIV ${interval}` : `(${now} - ${at}) / ${interval}`;
    const due = `(${interval} IS NOT NULL AND ${now} >= ${at} + ${interval})`;
    const available = `(CASE WHEN ${due} AND ${remaining} < ${amount} THEN ${amount} ELSE ${remaining} END)`;
    return {
      set: {
        remainingUses: () => `${available} - :cost`,
        refilledAtMs: () => `CASE WHEN ${due} THEN ${at} + (${intervals}) * ${interval} ELSE ${at} END`,
      },
      enough: `${available} >= :cost`,
    };
  }

  private escaped(property: string): string {
    const column = this.dataSource.getMetadata(this.entity).findColumnWithPropertyName(property)!;
    return this.dataSource.driver.escape(column.databaseName);
  }
}
