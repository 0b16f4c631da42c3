import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { MAX_LOG_BUCKETS, RejectionLog, unreadCredential, withCredential } from '../../lib/http/index.js';

function recorder() {
  const lines: string[] = [];
  const logger = {
    debug: (message: string) => lines.push(`debug ${message}`),
    warn: (message: string) => lines.push(`warn ${message}`),
    error: (message: string) => lines.push(`error ${message}`),
  };
  return { lines, logger };
}

describe('RejectionLog', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('writes the first line of a bucket at once and one summary of its repeats per interval', () => {
    const { lines, logger } = recorder();
    const log = new RejectionLog(logger, 60_000);
    for (let i = 0; i < 1000; i++) log.note('warn', 'k1:revoked', 'rejected API key k1: revoked');
    log.note('debug', 'unknown', 'rejected API key: unknown');
    expect(lines).toEqual(['warn rejected API key k1: revoked', 'debug rejected API key: unknown']);
    jest.advanceTimersByTime(60_000);
    expect(lines).toEqual([
      'warn rejected API key k1: revoked',
      'debug rejected API key: unknown',
      'warn rejected API key k1: revoked (999 more in the last 60 s)',
    ]);
    // A new interval starts with a fresh first line.
    log.note('warn', 'k1:revoked', 'rejected API key k1: revoked');
    expect(lines).toHaveLength(4);
  });

  it('keeps at most MAX_LOG_BUCKETS buckets per interval, then one overflow bucket per level', () => {
    const { lines, logger } = recorder();
    const log = new RejectionLog(logger, 1000);
    for (let i = 0; i < MAX_LOG_BUCKETS + 500; i++)
      log.note('warn', `k${i}:revoked`, `rejected API key k${i}: revoked`);
    expect(lines).toHaveLength(MAX_LOG_BUCKETS + 1);
    expect(lines.at(-1)).toMatch(/^warn more warn lines of other kinds/);
    jest.advanceTimersByTime(1000);
    expect(lines.at(-1)).toMatch(/\(499 more in the last 1 s\)$/);
  });

  it('writes every line with intervalMs 0', () => {
    const { lines, logger } = recorder();
    const log = new RejectionLog(logger, 0);
    log.note('debug', 'unknown', 'x');
    log.note('debug', 'unknown', 'x');
    expect(lines).toEqual(['debug x', 'debug x']);
  });
});

describe('unreadCredential', () => {
  it('names another Authorization scheme, and never copies client text that is not a short word', () => {
    expect(unreadCredential('Token abc', undefined, true)?.bucket).toBe('scheme:Token');
    expect(unreadCredential('basic dXNlcg==', undefined, true)?.message).toContain('Authorization Basic is not read');
    const odd = unreadCredential('sk_live_abc', undefined, true)!;
    expect(odd.message).not.toContain('sk_live_abc');
    expect(odd.bucket).toBe('scheme:another scheme');
  });

  it('names a key-like query parameter, never its value', () => {
    const found = unreadCredential(undefined, '/orders?x=1&api_key=sk_secret', true)!;
    expect(found.bucket).toBe('query:api_key');
    expect(found.message).not.toContain('sk_secret');
    expect(unreadCredential(undefined, '/orders?page=2', true)).toBeUndefined();
    expect(unreadCredential(undefined, '/orders', true)).toBeUndefined();
  });
});

describe('withCredential', () => {
  it('adds a key from elsewhere: the same key is one, two different ones a conflict', () => {
    expect(withCredential({ kind: 'none' }, undefined)).toEqual({ kind: 'none' });
    expect(withCredential({ kind: 'none' }, 'k1')).toEqual({ kind: 'key', key: 'k1' });
    expect(withCredential({ kind: 'key', key: 'k1' }, 'k1')).toEqual({ kind: 'key', key: 'k1' });
    expect(withCredential({ kind: 'key', key: 'k1' }, 'k2')).toEqual({ kind: 'conflict' });
    expect(withCredential({ kind: 'key', key: 'k1' }, { forged: true })).toEqual({ kind: 'conflict' });
    expect(withCredential({ kind: 'conflict' }, 'k1')).toEqual({ kind: 'conflict' });
  });
});
