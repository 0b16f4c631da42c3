import { In } from 'typeorm';
import type { ApiKeyDatabase } from '../../storage/api-key.database.js';
import { alertOf, ownerAlertOf, ownerMarker, type AlertCrossing, type ApiKeyAlertDetails } from './alert-event.js';
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
 * The counted crossings as alerts. A key's crossing gets its key's owner (one query for them all; a key deleted
 * since is left out); an owner's (`owner_refusal_spike`, counted per owner id as the guard read it) needs none.
 * The subject and the window make the marker, so a window is announced once per subject.
 */
export async function countedCrossings(
  db: ApiKeyDatabase,
  counted: CountedCrossing[],
  now: number,
): Promise<AlertCrossing[]> {
  const ofKeys = counted.filter((c) => c.type !== 'owner_refusal_spike');
  const window = (c: CountedCrossing) => [c.threshold.moreThan, c.threshold.windowMs, c.windowStart];
  const ofOwners = counted
    .filter((c) => c.type === 'owner_refusal_spike')
    .map((c) => ({
      alert: ownerAlertOf('owner_refusal_spike', c.subject, now, detailsOf(c)),
      marker: ownerMarker(c.subject, 'owner_refusal_spike', ...window(c)),
    }));
  if (ofKeys.length === 0) return ofOwners;
  const keys = await db.dataSource.manager.find(db.keys, {
    where: { id: In([...new Set(ofKeys.map((c) => c.subject))]) },
    select: { id: true, ownerId: true },
  });
  const owners = new Map(keys.map((key) => [key.id, key.ownerId]));
  return [
    ...ofKeys
      .filter((c) => owners.has(c.subject))
      .map((c) => ({
        alert: alertOf(c.type, { id: c.subject, ownerId: owners.get(c.subject)! }, now, detailsOf(c)),
        marker: [c.subject, c.type, ...window(c)].join('|'),
      })),
    ...ofOwners,
  ];
}
