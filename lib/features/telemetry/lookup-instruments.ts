import type { LookupStats } from '../../storage/lookup-stats.js';

/** The instrument names of the lookup cache and the lookup batcher (meter `nestjs-opaque-keys`). */
export const LOOKUP_INSTRUMENTS = Object.freeze({
  cacheLookups: 'api_key.cache.lookups',
  cacheHitRatio: 'api_key.cache.hit_ratio',
  batchSize: 'api_key.lookup.batch_size',
});

/** Bucket bounds of the batch size histogram: powers of two up to the batcher's 64 keys per statement. */
export const BATCH_SIZE_BUCKETS: readonly number[] = Object.freeze([1, 2, 4, 8, 16, 32, 64]);

/** The parts of `@opentelemetry/api`'s meter used here (typed loosely: the package is an optional peer). */
type Attributes = Record<string, string>;
interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}
type ObservableCallback = (result: ObservableResult) => void;
interface Observable {
  addCallback(callback: ObservableCallback): void;
  removeCallback(callback: ObservableCallback): void;
}
/** The meter methods the lookup instruments need. */
export interface LookupMeter {
  createObservableCounter(name: string, options?: object): Observable;
  createObservableGauge(name: string, options?: object): Observable;
  createHistogram(name: string, options?: object): { record(value: number, attributes?: Attributes): void };
}

/**
 * Reports a setup's {@link LookupStats}: with the cache on, an observable
 * counter of cache lookups by `result` (`hit`, `miss`) and an observable
 * gauge of the hit ratio since the previous collection; with batching, a
 * histogram of distinct keys per batched statement, created at the first
 * batch (so absent when nothing is batched). The only attribute besides
 * `result` is `setup`, the name of a named setup. Returns what undoes it.
 */
export function observeLookups(meter: LookupMeter, stats: LookupStats, cached: boolean): () => void {
  const setup: Attributes = stats.setup === undefined ? {} : { setup: stats.setup };
  const undo: (() => void)[] = [];
  if (cached) {
    const hit = { ...setup, result: 'hit' };
    const miss = { ...setup, result: 'miss' };
    const lookups = meter.createObservableCounter(LOOKUP_INSTRUMENTS.cacheLookups, {
      description:
        'Key lookups through the lookup cache, by result (hit: answered from memory; miss: read the database)',
      unit: '{lookup}',
    });
    const countLookups: ObservableCallback = (result) => {
      result.observe(stats.cacheHits, hit);
      result.observe(stats.cacheMisses, miss);
    };
    lookups.addCallback(countLookups);
    undo.push(() => lookups.removeCallback(countLookups));

    const ratio = meter.createObservableGauge(LOOKUP_INSTRUMENTS.cacheHitRatio, {
      description: 'Share of lookups the cache answered since the previous collection (none when there were none)',
      unit: '1',
    });
    let seenHits = stats.cacheHits;
    let seenMisses = stats.cacheMisses;
    const observeRatio: ObservableCallback = (result) => {
      const hits = stats.cacheHits - seenHits;
      const misses = stats.cacheMisses - seenMisses;
      seenHits = stats.cacheHits;
      seenMisses = stats.cacheMisses;
      if (hits + misses > 0) result.observe(hits / (hits + misses), setup);
    };
    ratio.addCallback(observeRatio);
    undo.push(() => ratio.removeCallback(observeRatio));
  }

  let histogram: { record(value: number, attributes?: Attributes): void } | undefined;
  stats.batchSizes = {
    record(size) {
      histogram ??= meter.createHistogram(LOOKUP_INSTRUMENTS.batchSize, {
        description: 'Distinct keys per batched lookup statement (one statement per batch)',
        unit: '{key}',
        advice: { explicitBucketBoundaries: [...BATCH_SIZE_BUCKETS] },
      });
      histogram.record(size, setup);
    },
  };
  undo.push(() => (stats.batchSizes = undefined));
  return () => {
    for (const step of undo) step();
  };
}
