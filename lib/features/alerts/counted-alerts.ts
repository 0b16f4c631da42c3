import { In } from 'typeorm';
import type { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { alertOf, type AlertCrossing, type ApiKeyAlertDetails } from './alert-event.js';
import type { CountedCrossing } from './windowed-counts.js';

/** The figures of a counted crossing: the count, its threshold and its window. */
function detailsOf(c: CountedCrossing): ApiKeyAlertDetails {
  return {
    threshold: c.threshold.moreThan,
    figure: c.count,
    windowStart: new Date(c.windowStart).toISOString(),
    windowMs: c.threshold.windowMs,
  };
}

/**
 * The counted crossings as alerts, with their keys' owners (one query for them all; a key deleted since is left
 * out). The subject and the window make the marker, so a window is announced once per subject.
 */
export async function countedCrossings(
  db: ApiKeyDatabase,
  counted: CountedCrossing[],
  now: number,
): Promise<AlertCrossing[]> {
  if (counted.length === 0) return [];
  const keys = await db.dataSource.manager.find(db.keys, {
    where: { id: In([...new Set(counted.map((c) => c.subject))]) },
    select: { id: true, ownerId: true },
  });
  const owners = new Map(keys.map((key) => [key.id, key.ownerId]));
  return counted
    .filter((c) => owners.has(c.subject))
    .map((c) => ({
      alert: alertOf(c.type, { id: c.subject, ownerId: owners.get(c.subject)! }, now, detailsOf(c)),
      marker: [c.subject, c.type, c.threshold.moreThan, c.threshold.windowMs, c.windowStart].join('|'),
    }));
}
