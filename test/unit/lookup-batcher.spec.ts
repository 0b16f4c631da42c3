import { describe, expect, it } from '@jest/globals';
import { LookupBatcher, LookupStats } from '../../lib/storage/index.js';

/** A batch loader that records every batch and answers `value-<key>` for keys not starting with "missing". */
function recordingLoader() {
  const batches: string[][] = [];
  const load = async (keys: readonly string[]) => {
    batches.push([...keys]);
    return new Map(keys.filter((k) => !k.startsWith('missing')).map((k) => [k, `value-${k}`]));
  };
  return { batches, load };
}

describe('LookupBatcher', () => {
  it('sends the lookups of one event-loop turn as one batch of distinct keys, each answered with its own value', async () => {
    const { batches, load } = recordingLoader();
    const batcher = new LookupBatcher(load);
    const answers = await Promise.all(['a', 'b', 'a', 'missing-c'].map((k) => batcher.find(k)));
    expect(answers).toEqual(['value-a', 'value-b', 'value-a', undefined]);
    expect(batches).toEqual([['a', 'b', 'missing-c']]);
  });

  it('never answers a lookup with a batch sent before it was asked for', async () => {
    const { batches, load } = recordingLoader();
    const batcher = new LookupBatcher(load);
    const first = batcher.find('a');
    await new Promise((resolve) => setImmediate(resolve)); // the first batch has gone out
    const second = batcher.find('a');
    await Promise.all([first, second]);
    expect(batches).toEqual([['a'], ['a']]);
  });

  it('splits a long queue into batches of at most maxBatch keys', async () => {
    const { batches, load } = recordingLoader();
    const batcher = new LookupBatcher(load, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((k) => batcher.find(k)));
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('rejects every lookup of a failed batch, and only those', async () => {
    let calls = 0;
    const batcher = new LookupBatcher<string, string>(async (keys) => {
      if (calls++ === 0) throw new Error('database down');
      return new Map(keys.map((k) => [k, k]));
    }, 2);
    const results = await Promise.allSettled(['a', 'a', 'b', 'c'].map((k) => batcher.find(k)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'fulfilled']);
    expect(await batcher.find('a')).toBe('a'); // a failure is not remembered
  });

  it('tells each batch its number of distinct keys as it is sent, and LookupStats adds them up', async () => {
    const { load } = recordingLoader();
    const stats = new LookupStats();
    const sizes: number[] = [];
    stats.batchSizes = { record: (size) => void sizes.push(size) };
    const batcher = new LookupBatcher(load, 2, (size) => stats.batchSent(size));
    await Promise.all(['a', 'b', 'a', 'c'].map((k) => batcher.find(k)));
    await batcher.find('d');
    expect(sizes).toEqual([2, 1, 1]);
    expect([stats.batches, stats.batchedKeys]).toEqual([3, 4]);
  });
});
