/**
 * Rate-limit bookkeeping, no HTTP: `node --expose-gc build/bench/bench/limiter.js`
 * (after `tsc -p bench/tsconfig.json`). For @nestjs/throttler's in-memory
 * `ThrottlerStorageService` (the counter before) and this library's
 * `ApiKeyRateLimiter` on rate-limiter-flexible's memory backend (now), it
 * reports the median CPU µs per hit with 1, 10,000 and 1,000,000 hits already in
 * the window of one key, and the heap bytes per limited key. Windows are a day
 * and limits 1e9 (the largest `validateRateLimit` allows), so nothing expires
 * or blocks during the run. The throttler's window is filled by pushing hit
 * timestamps into its own array (what 10k / 1M increments would leave there,
 * without waiting for its O(n²) fill); the new limiter's is filled by real hits.
 */
import 'reflect-metadata';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { ResolvedApiKeyOptions } from '../lib/api-key.options.js';
import type { ApiKeyPrincipal } from '../lib/index.js';
import { ApiKeyRateLimiter } from '../lib/verification/index.js';

const DAY = 86_400_000;
const LIMIT = 1_000_000_000;
const LEVELS = [1, 10_000, 1_000_000];
const SAMPLE = Number(process.env.LIMITER_SAMPLE ?? 2000);
const KEYS = Number(process.env.LIMITER_KEYS ?? 100_000);

type Hit = () => Promise<unknown>;

/**
 * Median CPU µs (this process, user + system) per hit over `rounds` batches of
 * `samples / rounds` hits: on a shared machine CPU time does not count time spent descheduled.
 */
async function microsPerHit(hit: Hit, samples = SAMPLE, rounds = 5): Promise<number> {
  const per: number[] = [];
  const batch = Math.max(1, Math.floor(samples / rounds));
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < batch; i++) await hit();
    const used = process.cpuUsage(start);
    per.push((used.user + used.system) / batch);
  }
  return per.sort((a, b) => a - b)[Math.floor(per.length / 2)];
}

function principal(id: string): ApiKeyPrincipal {
  return {
    id,
    familyId: id,
    name: id,
    ownerId: null,
    scopes: [],
    metadata: null,
    expiresAt: null,
    environment: null,
    remainingUses: null,
    rateLimit: { limit: LIMIT, windowMs: DAY },
  };
}

async function newLimiter(): Promise<ApiKeyRateLimiter> {
  const limiter = new ApiKeyRateLimiter(new ResolvedApiKeyOptions({}));
  await limiter.onModuleInit();
  return limiter;
}

/** The throttler's hit timestamps of one key (its private array), to fill the window directly. */
function throttlerHits(storage: ThrottlerStorageService, key: string): number[] {
  return (storage as unknown as { hitExpirations: Map<string, Map<string, number[]>> }).hitExpirations
    .get(key)!
    .get('api-key')!;
}

/**
 * µs per throttler hit with `level` hits in the window: at 1, each sampled hit
 * is the second on its own key; above, hits go to one prefilled key (the sample
 * adds at most 2% to its count).
 */
async function throttlerAt(level: number): Promise<string> {
  const storage = new ThrottlerStorageService();
  const increment = (key: string) => storage.increment(key, DAY, LIMIT, 0, 'api-key');
  try {
    if (level === 1) {
      for (let i = 0; i < SAMPLE; i++) await increment(`api-key:${i}`);
      let next = 0;
      return (await microsPerHit(() => increment(`api-key:${next++}`))).toFixed(2);
    }
    const key = 'api-key:full';
    await increment(key);
    const hits = throttlerHits(storage, key);
    const totals = (storage.storage.get(key) as unknown as { totalHits: Map<string, number> }).totalHits;
    const expiresAt = Date.now() + DAY;
    while (hits.length < level) hits.push(expiresAt);
    totals.set('api-key', hits.length);
    return (
      await microsPerHit(() => increment(key), level >= 100_000 ? 50 : Math.min(SAMPLE, Math.ceil(level / 50)))
    ).toFixed(2);
  } catch (error) {
    return `${(error as Error).name}`;
  } finally {
    storage.onApplicationShutdown?.();
  }
}

/** The fewest hits in the throttler's window at which a hit throws (bisection), or null up to `max`. */
async function throttlerBreakingPoint(max: number): Promise<number | null> {
  const fails = async (n: number) => {
    const storage = new ThrottlerStorageService();
    await storage.increment('k', DAY, LIMIT, 0, 'api-key');
    const hits = throttlerHits(storage, 'k');
    while (hits.length < n) hits.push(Date.now() + DAY);
    try {
      await storage.increment('k', DAY, LIMIT, 0, 'api-key');
      return false;
    } catch {
      return true;
    } finally {
      storage.onApplicationShutdown?.();
    }
  };
  if (!(await fails(max))) return null;
  let [low, high] = [10_000, max];
  while (high - low > 1000) {
    const mid = Math.floor((low + high) / 2);
    if (await fails(mid)) high = mid;
    else low = mid;
  }
  return high;
}

/** µs per hit of the new limiter with `level` hits in the window (at 1: the second hit on fresh families). */
async function limiterAt(level: number): Promise<string> {
  const limiter = await newLimiter();
  if (level === 1) {
    const families = Array.from({ length: SAMPLE }, (_, i) => principal(`family-${i}`));
    for (const family of families) await limiter.hit(family);
    let next = 0;
    return (await microsPerHit(() => limiter.hit(families[next++]))).toFixed(2);
  }
  const family = principal('family-full');
  for (let i = 0; i < level; i++) await limiter.hit(family);
  return (await microsPerHit(() => limiter.hit(family))).toFixed(2);
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Heap bytes per key, `KEYS` keys with `hits` hits each. */
async function bytesPerKey(hitEach: (key: string) => Promise<unknown>, keys = KEYS): Promise<number> {
  const before = heapUsed();
  for (let i = 0; i < keys; i++) await hitEach(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  return Math.round((heapUsed() - before) / keys);
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) console.warn('run with node --expose-gc for steadier memory figures');
  const rows: string[][] = [];
  const throttler: string[] = [];
  const limiter: string[] = [];
  // Warm-up (JIT), discarded.
  await throttlerAt(1);
  await limiterAt(1);
  for (const level of LEVELS) {
    console.error(`hits in the window: ${level}`);
    throttler.push(await throttlerAt(level));
    limiter.push(await limiterAt(level));
  }
  console.error('throttler: bisecting the RangeError');
  const breaking = await throttlerBreakingPoint(1_000_000);
  console.error('memory per key');

  const storage = new ThrottlerStorageService();
  const throttlerKey = await bytesPerKey((key) => storage.increment(`api-key:${key}`, DAY, LIMIT, 0, 'api-key'));
  storage.onApplicationShutdown?.();
  const throttlerPerHit = await (async () => {
    const s = new ThrottlerStorageService();
    const before = heapUsed();
    for (let i = 0; i < 20_000; i++) await s.increment('one', DAY, LIMIT, 0, 'api-key');
    const bytes = (heapUsed() - before) / 20_000;
    s.onApplicationShutdown?.();
    return bytes.toFixed(1);
  })();
  const rl = await newLimiter();
  const limiterKey = await bytesPerKey((key) => rl.hit(principal(key)));

  rows.push([
    '@nestjs/throttler ThrottlerStorageService (before)',
    ...throttler,
    `${throttlerKey} B + ${throttlerPerHit} B per hit`,
  ]);
  rows.push([
    'ApiKeyRateLimiter, rate-limiter-flexible memory (now)',
    ...limiter,
    `${limiterKey} B, any number of hits`,
  ]);
  const header = ['counter', 'CPU µs/hit at 1 hit', 'at 10,000', 'at 1,000,000', 'heap per limited key'];
  const lines = [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
  console.log(lines.join('\n'));
  console.log(
    breaking
      ? `\n@nestjs/throttler: a hit throws RangeError from about ${breaking.toLocaleString('en-US')} hits in the window.`
      : '\n@nestjs/throttler: no RangeError up to 1,000,000 hits.',
  );
  console.log(
    `node ${process.version}, ${KEYS.toLocaleString('en-US')} keys for memory, ${SAMPLE} hits sampled per level`,
  );
}

await main();
