import { IsNull, type EntityManager } from 'typeorm';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import { ApiKeyNotFoundError, ApiKeyStateError, ApiKeyValidationError } from '../api-key.errors.js';
import type { KeyChange, LifecycleContext } from './api-key.changes.js';
import * as input from '../policies/api-key.input.js';
import { MAX_CREDITS, type CreditsInput } from '../policies/credits.js';
import { assertMayChange } from '../policies/delegation.js';
import type { ActingOptions } from './api-key.record.js';
import { MANAGED_KEY_SELECT, managedKeyOf } from './acting-key.js';

/** The credit columns of a row. */
export type CreditColumns = Pick<ApiKeyColumns, 'remainingUses' | 'refillAmount' | 'refillIntervalMs' | 'refilledAtMs'>;

/**
 * The columns that store validated credits (`null`: no credits, unlimited).
 * A refill's grid starts at `now`: the first refill falls due one interval later.
 */
export function creditColumns(credits: CreditsInput | null, now: number): CreditColumns {
  return {
    remainingUses: credits?.remaining ?? null,
    refillAmount: credits?.refill?.amount ?? null,
    refillIntervalMs: credits?.refill?.intervalMs ?? null,
    refilledAtMs: credits?.refill ? now : null,
  };
}

const HOLDER_SELECT = {
  ...MANAGED_KEY_SELECT,
  replacedById: true,
  revokedAt: true,
  remainingUses: true,
} as const;

/** The live key that holds a family's balance: the one with no successor. */
type Holder = Pick<ApiKeyColumns, keyof typeof HOLDER_SELECT>;

/**
 * Changes keys' credits (`ApiKeyService.addCredits`, `setCredits`, and `update` with `credits`). A rotation
 * family has one balance, on its newest key (rotation moves it there), so every change here applies to that
 * key, whichever key of the family is named. Each change is one: the holder row locked, one conditional UPDATE,
 * its audit event and the cache invalidation.
 */
export class KeyCredits {
  constructor(private readonly context: LifecycleContext) {}

  private get options() {
    return this.context.options;
  }

  private get entity() {
    return this.context.db.keys;
  }

  /**
   * Adds `amount` credits to the family's balance. Returns the id of the key
   * that holds it. A key without credits is an {@link ApiKeyValidationError}.
   */
  add(id: string, amount: number, acting: ActingOptions = {}): Promise<string> {
    input.validateId(id);
    const n = input.validateCreditCount(amount, 'amount', 1);
    return this.change(id, acting, 'credits_added', { amount: n }, async (em, holder, remaining) => {
      if (holder.remainingUses === null)
        throw new ApiKeyValidationError(`API key ${id} has no credits to add to (give it some with setCredits)`);
      return em
        .createQueryBuilder()
        .update(this.entity)
        .set({ remainingUses: () => `${remaining} + :n` } as never)
        .where({ id: holder.id, replacedById: IsNull(), revokedAt: IsNull() })
        .andWhere(`${remaining} <= :max`, { n, max: MAX_CREDITS - n })
        .execute();
    });
  }

  /** Sets the family's balance to `remaining` (0 to 2e9); a key without credits gets a balance without refill. */
  set(id: string, remaining: number, acting: ActingOptions = {}): Promise<string> {
    input.validateId(id);
    const n = input.validateCreditCount(remaining, 'remaining');
    return this.change(id, acting, 'credits_set', { remaining: n }, (em, holder) =>
      em.update(this.entity, { id: holder.id, replacedById: IsNull(), revokedAt: IsNull() }, {
        remainingUses: n,
      } as never),
    );
  }

  /**
   * Sets the credit configuration (balance and refill, or `null` for none) of
   * the family of key `id`, inside a change that writes its own audit event
   * (a key update), and marks the holder's cached row stale. Validates
   * `credits` as `issue` does. Returns the columns written.
   */
  async configure(change: KeyChange, id: string, credits: unknown): Promise<CreditColumns> {
    const columns = creditColumns(input.validateCredits(credits), change.now);
    const holder = await this.holderOf(change.em, id);
    const result = await change.em.update(this.entity, { id: holder.id, replacedById: IsNull() }, columns as never);
    if (result.affected !== 1) throw new ApiKeyStateError(id, 'rotated');
    change.invalidate([holder.id]);
    return columns;
  }

  /**
   * The live key holding the balance of `id`'s family, locked. With
   * `actingAs`, both the named key and the holder must be keys it may change
   * the credits of: reached, their scopes its own, and not of its own
   * rotation family (whichever key of it is named).
   */
  private async holderOf(em: EntityManager, id: string, { actingAs }: ActingOptions = {}): Promise<Holder> {
    const lock = this.context.db.writeLock;
    const row = await em.findOne(this.entity, { where: { id }, select: HOLDER_SELECT, lock });
    if (!row) throw new ApiKeyNotFoundError(id);
    if (actingAs) assertMayChange(actingAs, managedKeyOf(this.options, row), { limits: ['credits'] }, this.options);
    const holder =
      row.replacedById === null
        ? row
        : await em.findOne(this.entity, {
            where: { familyId: row.familyId ?? row.id, replacedById: IsNull() },
            select: HOLDER_SELECT,
            lock,
          });
    if (!holder || holder.revokedAt) throw new ApiKeyStateError(id, 'revoked');
    if (actingAs && holder !== row)
      assertMayChange(actingAs, managedKeyOf(this.options, holder), { limits: ['credits'] }, this.options);
    return holder;
  }

  private async change(
    id: string,
    acting: ActingOptions,
    type: 'credits_added' | 'credits_set',
    details: Record<string, unknown>,
    update: (em: EntityManager, holder: Holder, remaining: string) => Promise<{ affected?: number | null }>,
  ): Promise<string> {
    return this.context.changes.run(async ({ em, record, invalidate }) => {
      const holder = await this.holderOf(em, id, acting);
      const column = em.connection.getMetadata(this.entity).findColumnWithPropertyName('remainingUses')!;
      const result = await update(em, holder, em.connection.driver.escape(column.databaseName));
      if (result.affected !== 1) {
        // The holder is locked (SQLite: writes are serialized), so only the balance's bound can refuse.
        throw type === 'credits_added'
          ? new ApiKeyValidationError(`the balance of API key ${holder.id} would exceed ${MAX_CREDITS} credits`)
          : new ApiKeyStateError(id, 'rotated');
      }
      const named = holder.id === id ? details : { ...details, requestedFor: id };
      record({ keyId: holder.id, ownerId: holder.ownerId, type, actor: acting.actor, details: named });
      invalidate([holder.id, id]);
      return holder.id;
    });
  }
}
