import type { UsagePoint } from './api.js';
import { when } from './format.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** The outcomes of refused requests. */
export const REFUSED = ['invalid', 'forbidden', 'rate_limited', 'out_of_credits'] as const;

/** A bucket's refused requests, all reasons together. */
export const refusedOf = (point: UsagePoint) => REFUSED.reduce((sum, outcome) => sum + point.counts[outcome], 0);

/** `n word(s)`. */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The top of the count axis: the largest count rounded up to 2, 4 or 10 times a power of ten, so the axis
 * reads 0, half and top in whole numbers (at least 2).
 */
export function countAxisTop(max: number): number {
  for (let power = 1; ; power *= 10) {
    for (const step of [2, 4, 10]) if (step * power >= max) return step * power;
  }
}

/** A bucket's start for people: `2026-12-07 14:00` by the hour, `2026-12-07` by the day. */
export function bucketName(start: string, granularity: 'hour' | 'day'): string {
  return granularity === 'day' ? when(start).slice(0, 10) : when(start);
}

/** One bar's counts in words, for its label: `2026-12-07 14:00: 5 requests, 3 verified, 2 refused`. */
export function barLabel(point: UsagePoint, granularity: 'hour' | 'day'): string {
  const refused = refusedOf(point);
  return `${bucketName(point.start, granularity)}: ${plural(point.counts.verified + refused, 'request')}, ${point.counts.verified} verified, ${refused} refused`;
}

/**
 * The time axis: one entry per bucket, a label where a tick falls, else `''`. Ticks fall on bucket starts
 * only, so each sits exactly under its bar: every 4 hours within a day of hours (`08:00`), at each local
 * midnight over days of hours (`Dec 7`), about 6 across days (`Dec 7`); none in the last tenth, where a
 * label would run off the chart.
 */
export function timeTicks(points: UsagePoint[], granularity: 'hour' | 'day'): string[] {
  const n = points.length;
  const every = Math.max(1, Math.ceil(n / 6));
  return points.map((point, i) => {
    if (i > 0 && i >= n - n / 10) return '';
    const start = new Date(point.start);
    const day = `${MONTHS[start.getMonth()]} ${start.getDate()}`;
    if (granularity === 'day') return i % every === 0 ? day : '';
    if (n <= 24) return start.getHours() % 4 === 0 ? `${String(start.getHours()).padStart(2, '0')}:00` : '';
    return start.getHours() === 0 ? day : '';
  });
}
