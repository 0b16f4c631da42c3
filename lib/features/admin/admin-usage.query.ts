import { BadRequestException } from '@nestjs/common';
import type { ApiKeyUsageQuery, ApiKeyUsageSeries } from '../usage/index.js';

const HOUR_MS = 3_600_000;
/** The periods the console's usage chart offers, in days. */
export const USAGE_PERIOD_DAYS = Object.freeze([1, 7, 30, 90]);

/**
 * `GET <path>/api/keys/:id/usage`: the chart's series, or `enabled: false`
 * when the host does not record usage (the `usage` option is off), so the
 * page can say why it has no data instead of showing an empty chart.
 */
export type AdminUsage = { readonly enabled: false } | ({ readonly enabled: true } & ApiKeyUsageSeries);

/**
 * The usage query of `?days=` (1, 7, 30 or 90; default 7) for a key: hourly
 * points up to 7 days when usage is kept by the hour, daily points beyond (or
 * always, when it is kept by day). The last point is the bucket under way.
 * @throws BadRequestException for another period
 */
export function adminUsageQueryOf(
  keyId: string,
  query: Record<string, unknown>,
  stored: 'hour' | 'day',
  now: number = Date.now(),
): ApiKeyUsageQuery {
  const raw = query.days ?? '7';
  const days = typeof raw === 'string' && /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!USAGE_PERIOD_DAYS.includes(days)) {
    throw new BadRequestException(`days must be one of ${USAGE_PERIOD_DAYS.join(', ')}`);
  }
  const granularity = stored === 'day' || days > 7 ? 'day' : 'hour';
  const step = granularity === 'day' ? 24 * HOUR_MS : HOUR_MS;
  const to = (Math.floor(now / step) + 1) * step; // through the end of the bucket under way
  return { keyId, from: new Date(to - days * 24 * HOUR_MS), to: new Date(to), granularity };
}
