import { describe, expect, it } from '@jest/globals';
import { decideRateLimit, tighterDecision, type RateLimitDecision } from '../../lib/policies/index.js';

const decision = (allowed: boolean, remaining: number, resetSeconds: number, limit = 10): RateLimitDecision => ({
  allowed,
  limit,
  remaining,
  windowSeconds: 60,
  resetSeconds,
});

describe('decideRateLimit', () => {
  it('allows up to the limit, then refuses; seconds rounded up', () => {
    const rate = { limit: 3, windowMs: 1500 };
    expect(decideRateLimit(rate, { hits: 3, msBeforeReset: 1001 })).toEqual({
      allowed: true,
      limit: 3,
      remaining: 0,
      windowSeconds: 2,
      resetSeconds: 2,
    });
    expect(decideRateLimit(rate, { hits: 4, msBeforeReset: 0 })).toMatchObject({
      allowed: false,
      remaining: 0,
      resetSeconds: 0,
    });
    expect(decideRateLimit(rate, { hits: 1, msBeforeReset: -5 })).toMatchObject({
      allowed: true,
      remaining: 2,
      resetSeconds: 0,
    });
  });
});

describe('tighterDecision', () => {
  it('prefers a refusal, then fewer remaining, then the later reset, in either order', () => {
    const cases: [RateLimitDecision, RateLimitDecision, RateLimitDecision][] = [
      [decision(true, 5, 10), decision(false, 0, 3), decision(false, 0, 3)],
      [decision(false, 0, 3), decision(false, 0, 30, 100), decision(false, 0, 30, 100)],
      [decision(true, 5, 10), decision(true, 2, 50, 100), decision(true, 2, 50, 100)],
      [decision(true, 2, 10), decision(true, 2, 50, 100), decision(true, 2, 50, 100)],
    ];
    for (const [a, b, tighter] of cases) {
      expect(tighterDecision(a, b)).toEqual(tighter);
      expect(tighterDecision(b, a)).toEqual(tighter);
    }
  });
});
