import { availableCredits, hasRefill, type CreditState } from '../../policies/credits.js';
import type { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { ownerAlertOf, ownerMarker, type AlertCrossing } from './alert-event.js';
import type { ResolvedAlertOptions } from './alerts.options.js';
import { TOP_UPS } from './balance-alerts.js';

/** The columns an owner's balance check reads, of the one row of each rotation family that holds its balance. */
interface HolderRow extends CreditState {
  readonly id: string;
  readonly ownerId: string;
  readonly revokedAt: Date | null;
  readonly disabledAt: Date | null;
  readonly expiresAt: Date | null;
}

/** An owner's live balances summed, and what its episode is made of. */
interface OwnerBalance {
  /** The sum of its live balances at `now` (a due refill counted as applied). */
  figure: number;
  /** How many live balances the figure sums. */
  keys: number;
  /** Its balances in every state (live or not): one more when a key with a balance is issued. */
  families: number;
  /** The sum of its refilling balances' refill anchors: moves when a refill falls due. */
  anchors: bigint;
}

/**
 * The owners whose live balances sum to less than `owners.credits.below` at `now`, as crossings. A live balance
 * is held by a key with an owner, a balance, no successor (a rotation family's balance is on its newest key,
 * counted once), not revoked, disabled or expired; keys without an owner are never summed. Three statements at
 * most: the owners whose stored balances sum below the threshold (a superset, as a due refill only raises a
 * balance; the lowest first, at most `batchSize`), their balance rows (exact figures in JavaScript), and, for
 * those still below, the count of their top-ups.
 *
 * A crossing's episode is made of the owner's raises, so that it is the same on every instance and only a raise
 * starts a new one: its top-ups (`credits_added` and `credits_set` rows of its keys in the audit trail, which
 * outlives the keys), its refills (each refilling balance's refill anchor, as a spend at `now` would leave it, or
 * as it stood when the key stopped being live), and its number of balances (a new key with a balance). A spend,
 * a revocation, a key disabled or expiring, and a rotation change none of them.
 */
export async function ownerBalanceCrossings(
  db: ApiKeyDatabase,
  options: ResolvedAlertOptions,
  now: number,
): Promise<AlertCrossing[]> {
  const below = options.ownerCreditsBelow;
  if (below === null) return [];
  const candidates = await candidateOwners(db, below, options.batchSize, now);
  if (candidates.length === 0) return [];
  const low = [...tally(await holders(db, candidates), now)]
    .filter(([, balance]) => balance.figure < below)
    .sort(([a, x], [b, y]) => x.figure - y.figure || (a < b ? -1 : 1));
  if (low.length === 0) return [];
  const owners = low.map(([owner]) => owner);
  const topUps = await topUpCounts(db, owners);
  return low.map(([owner, { figure, keys, families, anchors }]) => {
    const episode = [families, String(anchors), topUps.get(owner) ?? 0];
    return {
      alert: ownerAlertOf('owner_credits_low', owner, now, { threshold: below, figure, keys }),
      marker: ownerMarker(owner, 'owner_credits_low', `below:${below}`, ...episode),
    };
  });
}

/** Owners whose live stored balances sum below `below` (a superset of those below at `now`), lowest first. */
async function candidateOwners(db: ApiKeyDatabase, below: number, limit: number, now: number): Promise<string[]> {
  const rows = await db.dataSource.manager
    .createQueryBuilder(db.keys, 'k')
    .select('k.ownerId', 'owner')
    .addSelect('SUM(k.remainingUses)', 'stored')
    .where('k.ownerId IS NOT NULL AND k.remainingUses IS NOT NULL AND k.replacedById IS NULL')
    .andWhere('k.revokedAt IS NULL AND k.disabledAt IS NULL')
    .andWhere('(k.expiresAt IS NULL OR k.expiresAt > :now)', { now: new Date(now) })
    .groupBy('k.ownerId')
    .having('SUM(k.remainingUses) < :below', { below })
    .orderBy('stored', 'ASC')
    .addOrderBy('k.ownerId', 'ASC')
    .limit(limit)
    .getRawMany<{ owner: string }>();
  return rows.map((row) => row.owner);
}

/** The balance rows of these owners, live or not: one per rotation family (its newest key). */
async function holders(db: ApiKeyDatabase, owners: string[]): Promise<HolderRow[]> {
  return (await db.dataSource.manager
    .createQueryBuilder(db.keys, 'k')
    .select(['k.id', 'k.ownerId', 'k.remainingUses', 'k.refillAmount', 'k.refillIntervalMs', 'k.refilledAtMs'])
    .addSelect(['k.revokedAt', 'k.disabledAt', 'k.expiresAt'])
    .where('k.ownerId IN (:...owners)', { owners })
    .andWhere('k.remainingUses IS NOT NULL AND k.replacedById IS NULL')
    .getMany()) as HolderRow[];
}

/** Each owner's figure and episode parts. */
function tally(rows: HolderRow[], now: number): Map<string, OwnerBalance> {
  const owners = new Map<string, OwnerBalance>();
  for (const row of rows) {
    let balance = owners.get(row.ownerId);
    if (!balance) owners.set(row.ownerId, (balance = { figure: 0, keys: 0, families: 0, anchors: 0n }));
    const ended = endOf(row, now);
    balance.families += 1;
    if (hasRefill(row)) balance.anchors += BigInt(refillAnchor(row, ended ?? now));
    if (ended !== null) continue;
    balance.figure += availableCredits(row, now);
    balance.keys += 1;
  }
  return owners;
}

/** When the key stopped being live (revoked, disabled, or expired by `now`), or `null` while it is live. */
function endOf(row: HolderRow, now: number): number | null {
  const ends = [row.revokedAt?.getTime(), row.disabledAt?.getTime()];
  if (row.expiresAt !== null && row.expiresAt.getTime() <= now) ends.push(row.expiresAt.getTime());
  const known = ends.filter((end): end is number => end !== undefined);
  return known.length === 0 ? null : Math.min(...known);
}

/** The refill anchor a spend at `at` leaves: moved by whole intervals once a refill is due (the spend's SQL). */
function refillAnchor(state: CreditState, at: number): number {
  const anchor = state.refilledAtMs!;
  const interval = state.refillIntervalMs!;
  return at < anchor + interval ? anchor : anchor + Math.floor((at - anchor) / interval) * interval;
}

/** How many top-ups (audit rows `credits_added` / `credits_set`) the keys of each of these owners had. */
async function topUpCounts(db: ApiKeyDatabase, owners: string[]): Promise<Map<string, number>> {
  const rows = await db.dataSource.manager
    .createQueryBuilder(db.events, 'e')
    .select('e.ownerId', 'owner')
    .addSelect('COUNT(*)', 'topUps')
    .where('e.type IN (:...types)', { types: TOP_UPS })
    .andWhere('e.ownerId IN (:...owners)', { owners })
    .groupBy('e.ownerId')
    .getRawMany<{ owner: string; topUps: string | number }>();
  return new Map(rows.map((row) => [row.owner, Number(row.topUps)]));
}
