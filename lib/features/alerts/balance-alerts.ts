import { Brackets } from 'typeorm';
import { availableCredits, type CreditState } from '../../policies/credits.js';
import type { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { alertOf, type AlertCrossing, type ApiKeyAlertDetails } from './alert-event.js';
import type { ResolvedAlertOptions } from './alerts.options.js';

/** The columns a balance check reads. */
interface BalanceRow extends CreditState {
  readonly id: string;
  readonly ownerId: string | null;
  readonly familyId: string | null;
}

/** The audit types that raise a balance by hand: each one starts a new episode of its thresholds. */
export const TOP_UPS: readonly string[] = ['credits_added', 'credits_set'];

/**
 * The balances below a threshold at `now`, as crossings. One query over the key table finds the live keys that
 * hold a balance (no successor, not revoked, disabled or expired) whose stored balance is below a threshold (a
 * superset: a due refill is applied here, as the spend's SQL would); a second counts the top-ups of their rotation families.
 *
 * A crossing's episode is the balance's last raise: the refill anchor (`refilledAtMs`, moved when a spend applies
 * a due refill) and the number of top-ups (`addCredits`, `setCredits`). While the balance stays below, the
 * episode is the same and the crossing is claimed once; after a refill or a top-up, falling below again is a new
 * crossing. The subject is the rotation family, so a rotation does not announce the same balance twice.
 */
export async function balanceCrossings(
  db: ApiKeyDatabase,
  options: ResolvedAlertOptions,
  now: number,
): Promise<AlertCrossing[]> {
  const { creditsBelow, creditsBelowShare, usesBelow } = options;
  if (creditsBelow === null && creditsBelowShare === null && usesBelow === null) return [];
  const rows = await candidates(db, options, now);
  const found: { row: BalanceRow; crossing: Omit<AlertCrossing, 'marker'> & { threshold: string } }[] = [];
  for (const row of rows) {
    const figure = availableCredits(row, now);
    const refills = row.refillAmount !== null;
    const add = (type: 'credits_low' | 'uses_low', threshold: string, details: ApiKeyAlertDetails) =>
      found.push({ row, crossing: { alert: alertOf(type, row, now, details), threshold } });
    if (!refills && usesBelow !== null && figure < usesBelow)
      add('uses_low', `below:${usesBelow}`, { threshold: usesBelow, figure });
    if (refills && creditsBelow !== null && figure < creditsBelow)
      add('credits_low', `below:${creditsBelow}`, { threshold: creditsBelow, figure, refillAmount: row.refillAmount! });
    if (refills && creditsBelowShare !== null) {
      const threshold = creditsBelowShare * row.refillAmount!;
      if (figure < threshold)
        add('credits_low', `share:${creditsBelowShare}`, {
          threshold: Math.round(threshold * 1000) / 1000,
          figure,
          share: creditsBelowShare,
          refillAmount: row.refillAmount!,
        });
    }
  }
  if (found.length === 0) return [];
  const family = (row: BalanceRow) => row.familyId ?? row.id;
  const topUps = await topUpCounts(db, [...new Set(found.map(({ row }) => family(row)))]);
  return found.map(({ row, crossing }) => ({
    alert: crossing.alert,
    marker: [
      family(row),
      crossing.alert.type,
      crossing.threshold,
      row.refilledAtMs ?? 0,
      topUps.get(family(row)) ?? 0,
    ].join('|'),
  }));
}

/** Live balance holders whose stored balance is below a threshold, or below their refill (a superset), lowest first. */
async function candidates(db: ApiKeyDatabase, options: ResolvedAlertOptions, now: number): Promise<BalanceRow[]> {
  const { creditsBelow, creditsBelowShare, usesBelow } = options;
  return db.dataSource.manager
    .createQueryBuilder(db.keys, 'k')
    .select(['k.id', 'k.ownerId', 'k.familyId', 'k.remainingUses', 'k.refillAmount', 'k.refillIntervalMs'])
    .addSelect('k.refilledAtMs')
    .where('k.remainingUses IS NOT NULL AND k.revokedAt IS NULL AND k.replacedById IS NULL AND k.disabledAt IS NULL')
    .andWhere('(k.expiresAt IS NULL OR k.expiresAt > :now)', { now: new Date(now) })
    .andWhere(
      new Brackets((q) => {
        if (usesBelow !== null) q.orWhere('(k.refillAmount IS NULL AND k.remainingUses < :usesBelow)', { usesBelow });
        if (creditsBelow !== null)
          q.orWhere('(k.refillAmount IS NOT NULL AND k.remainingUses < :creditsBelow)', { creditsBelow });
        // A share of at most 1 of the refill: below the refill itself (exact in JavaScript, no float in SQL).
        if (creditsBelowShare !== null) q.orWhere('(k.refillAmount IS NOT NULL AND k.remainingUses < k.refillAmount)');
      }),
    )
    .orderBy('k.remainingUses', 'ASC')
    .limit(options.batchSize)
    .getMany();
}

/** How many top-ups each of these rotation families had (audit rows `credits_added` / `credits_set` of its keys). */
async function topUpCounts(db: ApiKeyDatabase, families: string[]): Promise<Map<string, number>> {
  const rows = await db.dataSource.manager
    .createQueryBuilder(db.events, 'e')
    .innerJoin(db.keys, 'k', 'k.id = e.keyId')
    .select('COALESCE(k.familyId, k.id)', 'family')
    .addSelect('COUNT(*)', 'topUps')
    .where('e.type IN (:...types)', { types: TOP_UPS })
    .andWhere('(k.familyId IN (:...families) OR k.id IN (:...families))', { families })
    .groupBy('COALESCE(k.familyId, k.id)')
    .getRawMany<{ family: string; topUps: string | number }>();
  return new Map(rows.map((row) => [row.family, Number(row.topUps)]));
}
