import { describe, expect, it } from '@jest/globals';
import { LookupCoalescer } from '../../lib/storage/index.js';

/** A promise with its settle functions exposed. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('LookupCoalescer', () => {
  it('gives concurrent calls with one key the same in-flight lookup', async () => {
    const coalescer = new LookupCoalescer<string, string>();
    const pending = deferred<string>();
    let loads = 0;
    const load = () => (loads++, pending.promise);
    const calls = Array.from({ length: 50 }, () => coalescer.run('k', load));
    expect(loads).toBe(1);
    pending.resolve('row');
    await expect(Promise.all(calls)).resolves.toEqual(Array(50).fill('row'));
  });

  it('never reuses a finished result: the next call loads again', async () => {
    const coalescer = new LookupCoalescer<string, number>();
    let loads = 0;
    const load = async () => ++loads;
    expect(await coalescer.run('k', load)).toBe(1);
    expect(await coalescer.run('k', load)).toBe(2);
  });

  it('shares a failure with every waiter, then forgets it', async () => {
    const coalescer = new LookupCoalescer<string, string>();
    const pending = deferred<string>();
    const calls = [coalescer.run('k', () => pending.promise), coalescer.run('k', () => pending.promise)];
    pending.reject(new Error('down'));
    for (const call of calls) await expect(call).rejects.toThrow('down');
    await expect(coalescer.run('k', async () => 'back')).resolves.toBe('back');
  });

  it('keeps different keys apart', async () => {
    const coalescer = new LookupCoalescer<string, string>();
    const loaded: string[] = [];
    const results = await Promise.all(
      ['a', 'b', 'a', 'c', 'b'].map((k) => coalescer.run(k, async () => (loaded.push(k), k.toUpperCase()))),
    );
    expect(results).toEqual(['A', 'B', 'A', 'C', 'B']);
    expect(loaded.sort()).toEqual(['a', 'b', 'c']);
  });
});
