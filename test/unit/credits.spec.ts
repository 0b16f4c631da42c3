import { describe, expect, it } from '@jest/globals';
import { ApiKeyValidationError } from 'nestjs-opaque-keys';
import { availableCredits, nextRefillAt, validateCredits, type CreditState } from '../../lib/policies/index.js';

const HOUR = 3_600_000;
const refilling = (remainingUses: number, refilledAtMs = 0): CreditState => ({
  remainingUses,
  refillAmount: 10,
  refillIntervalMs: HOUR,
  refilledAtMs,
});
const plain: CreditState = { remainingUses: 4, refillAmount: null, refillIntervalMs: null, refilledAtMs: null };

describe('credit arithmetic (mirrors the spend SQL)', () => {
  it('applies a due refill by raising the balance to its amount, never lowering it', () => {
    expect(availableCredits(refilling(3), HOUR - 1)).toBe(3);
    expect(availableCredits(refilling(3), HOUR)).toBe(10);
    expect(availableCredits(refilling(3), 5 * HOUR)).toBe(10); // refills do not accumulate
    expect(availableCredits(refilling(25), HOUR)).toBe(25);
    expect(availableCredits(plain, 10 * HOUR)).toBe(4);
  });

  it('puts the next refill on the grid anchored at the last one', () => {
    expect(nextRefillAt(refilling(0, 1_000), 1_000)).toBe(1_000 + HOUR);
    expect(nextRefillAt(refilling(0, 1_000), 1_000 + HOUR - 1)).toBe(1_000 + HOUR);
    expect(nextRefillAt(refilling(0, 1_000), 1_000 + 2.5 * HOUR)).toBe(1_000 + 3 * HOUR);
    expect(nextRefillAt(plain, 0)).toBeNull();
  });
});

describe('validateCredits', () => {
  it('maps maxUses onto credits without refill, and takes credits with or without refill', () => {
    expect(validateCredits(undefined, undefined)).toBeNull();
    expect(validateCredits(null, 3)).toEqual({ remaining: 3, refill: null });
    expect(validateCredits({ remaining: 0 })).toEqual({ remaining: 0, refill: null });
    expect(validateCredits({ remaining: 5, refill: { amount: 5, intervalMs: 1_000 } })).toEqual({
      remaining: 5,
      refill: { amount: 5, intervalMs: 1_000 },
    });
  });

  it('refuses maxUses 0 (a key that can never pass) and bad shapes with ApiKeyValidationError', () => {
    for (const [credits, maxUses] of [
      [undefined, 0],
      [{ remaining: 1 }, 1],
      [{ remaining: Number.POSITIVE_INFINITY }, undefined],
      [{ remaining: 1, refill: { amount: 1, intervalMs: 11 * 366 * 24 * HOUR } }, undefined],
      ['5', undefined],
    ] as const) {
      expect(() => validateCredits(credits, maxUses)).toThrow(ApiKeyValidationError);
    }
  });
});
