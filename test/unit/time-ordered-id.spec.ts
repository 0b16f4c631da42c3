import { describe, expect, it } from '@jest/globals';
import { timeOrderedId } from '../../lib/storage/index.js';

describe('timeOrderedId', () => {
  it('makes RFC 9562 version 7 UUIDs', () => {
    expect(timeOrderedId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => timeOrderedId(1_800_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(timeOrderedId(1_800_000_000_100) > ids[ids.length - 1]).toBe(true);
  });
});
