/**
 * Credits: a balance of uses that requests spend (one by default, `@Cost(n)`
 * on a route), optionally topped up every interval. Pure arithmetic on a
 * row's credit columns, mirroring the SQL the spend runs, so the guard can
 * refuse an obviously empty balance without a write and say when the next
 * refill comes.
 */

/** Largest balance, refill amount or cost (fits a signed 32-bit column). */
export const MAX_CREDITS = 2_000_000_000;
/** Shortest refill interval: one second (`Retry-After` counts in seconds). */
export const MIN_REFILL_INTERVAL_MS = 1_000;
/** Longest refill interval: about ten years. */
export const MAX_REFILL_INTERVAL_MS = 10 * 366 * 24 * 3600 * 1000;

/** A periodic top-up: every `intervalMs`, the balance is raised to `amount` (never lowered). */
export interface CreditRefill {
  /** The balance a refill restores, 1 to 2e9. */
  readonly amount: number;
  /** Time between refills in ms, 1 s to ~10 years; the first one comes `intervalMs` after issue. */
  readonly intervalMs: number;
}

/** A key's credits as `issue` takes them. */
export interface CreditsInput {
  /** The balance now, 0 to 2e9. */
  readonly remaining: number;
  /** A periodic top-up; without one, a spent balance stays spent (like `maxUses`). */
  readonly refill?: CreditRefill | null;
}

/** The credit columns of a key row. */
export interface CreditState {
  /** The balance; `null` for a key without credits. */
  readonly remainingUses: number | null;
  readonly refillAmount: number | null;
  readonly refillIntervalMs: number | null;
  /** Epoch ms the refill grid is anchored at: the last refill (or the issue). */
  readonly refilledAtMs: number | null;
}

/** Whether `state` has a refill configured. */
export function hasRefill(state: CreditState): boolean {
  return state.refillAmount !== null && state.refillIntervalMs !== null && state.refilledAtMs !== null;
}

/** The balance at `now`, with a due refill applied (as the spend's SQL computes it). */
export function availableCredits(state: CreditState, now: number): number {
  const remaining = state.remainingUses ?? 0;
  if (!hasRefill(state) || now < state.refilledAtMs! + state.refillIntervalMs!) return remaining;
  return Math.max(remaining, state.refillAmount!);
}

/** Epoch ms of the next refill after `now`, or `null` without a refill. */
export function nextRefillAt(state: CreditState, now: number): number | null {
  if (!hasRefill(state)) return null;
  const interval = state.refillIntervalMs!;
  const elapsed = Math.max(0, now - state.refilledAtMs!);
  return state.refilledAtMs! + (Math.floor(elapsed / interval) + 1) * interval;
}
