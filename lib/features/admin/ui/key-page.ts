import { useEffect, useState } from 'preact/hooks';
import { api, isAborted, type KeyEvent, type KeyRow } from './api.js';
import { environmentOf, focusHeading, scopeList, statusLabel, statusText, when } from './format.js';
import { html } from './html.js';
import { CreditsPanel, EditPanel, StatePanel } from './key-controls.js';
import { ConfirmDialog, SecretDialog } from './secret-dialog.js';
import { UsagePanel } from './usage-chart.js';

const GRACE_PERIODS: [number, string][] = [
  [0, 'None: the old key stops now'],
  [3600, '1 hour'],
  [86_400, '24 hours'],
  [7 * 86_400, '7 days'],
];

/** The refill for people; for a used-up key, when it is usable again (its next refill). */
function refillText(key: KeyRow): string {
  if (!key.refillAmount) return '—';
  const every = `to ${key.refillAmount} every ${(key.refillIntervalMs ?? 0) / 3_600_000} h`;
  if (key.status !== 'used-up' || key.refilledAtMs === null || key.refillIntervalMs === null) return every;
  return `${every}; the next, ${when(new Date(key.refilledAtMs + key.refillIntervalMs).toISOString())}`;
}

/** The "Last used from" row, when the app records addresses (the API then sends `lastUsedFrom`). */
function lastUsedFrom(key: KeyRow): [string, unknown][] {
  if (key.lastUsedFrom === undefined) return [];
  const last = key.lastUsedFrom;
  return [['Last used from', last ? html`<span class="mono">${last.address}</span> (${when(last.usedAt)})` : '—']];
}

/** Every field of one key; edit it, disable/enable it, change its credits and scopes, rotate, revoke; its audit trail and usage. */
export function KeyPage({ id }: { id: string }) {
  const [key, setKey] = useState<KeyRow | null>(null);
  const [events, setEvents] = useState<KeyEvent[]>([]);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [successor, setSuccessor] = useState<{ key: string; record: KeyRow } | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  useEffect(() => {
    const call = new AbortController(); // another key's page or a reload replaces this answer
    Promise.all([
      api<KeyRow>('GET', `/keys/${id}`, undefined, call.signal),
      api<{ items: KeyEvent[] }>('GET', `/keys/${id}/events?limit=100`, undefined, call.signal),
    ])
      .then(([record, trail]) => (setKey(record), setEvents(trail.items), setError('')))
      .catch((failure: Error) => isAborted(failure) || setError(failure.message));
    return () => call.abort();
  }, [id, version]);
  useEffect(focusHeading, [id]);

  const act = async (run: () => Promise<unknown>, done: string) => {
    try {
      await run();
      setError('');
      setMessage(done);
      reload();
    } catch (failure) {
      setMessage('');
      setError((failure as Error).message);
    }
  };
  const saveScopes = (event: Event) => {
    event.preventDefault();
    const text = ((event.currentTarget as HTMLFormElement).elements.namedItem('scopes') as HTMLInputElement).value;
    void act(
      () => api('PUT', `/keys/${id}/scopes`, { scopes: scopeList(text) }),
      'Scopes saved: the next request sees them.',
    );
  };
  const rotate = (event: Event) => {
    event.preventDefault();
    const grace = Number(
      ((event.currentTarget as HTMLFormElement).elements.namedItem('grace') as HTMLSelectElement).value,
    );
    void act(async () => {
      setSuccessor(
        await api<{ key: string; record: KeyRow }>('POST', `/keys/${id}/rotate`, { gracePeriodSeconds: grace }),
      );
    }, 'Rotated.');
  };
  const askRevoke = (event: Event) => {
    event.preventDefault();
    setRevoking(
      ((event.currentTarget as HTMLFormElement).elements.namedItem('reason') as HTMLInputElement).value.trim(),
    );
  };
  const answerRevoke = (yes: boolean) => {
    const reason = revoking;
    setRevoking(null);
    if (yes)
      void act(
        () => api('POST', `/keys/${id}/revoke`, { reason: reason || undefined }),
        'Revoked: requests with it now fail.',
      );
  };
  const closeSuccessor = () => {
    const next = successor?.record.id;
    setSuccessor(null); // the plaintext leaves the state and the DOM here
    if (next) location.hash = `#/keys/${next}`;
  };

  if (!key) {
    return html`<main id="main">
      <h1 tabindex="-1">Key</h1>
      ${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Loading…</p>`}
    </main>`;
  }
  const live = key.status !== 'revoked';
  const fields: [string, unknown][] = [
    ['Status', html`<span class=${`badge ${statusLabel(key)}`}>${statusText(key)}</span>`],
    ['Owner', key.ownerId ? html`<a href=${`#/owners/${encodeURIComponent(key.ownerId)}`}>${key.ownerId}</a>` : '—'],
    ['Hint', html`<span class="mono">${key.hint}…</span>`],
    ['Environment', environmentOf(key)],
    ['Scopes', html`<span class="mono">${key.scopes.join(' ') || '—'}</span>`],
    ['Created', when(key.createdAt)],
    ['Expires', when(key.expiresAt)],
    ['Last used', when(key.lastUsedAt)],
    ...lastUsedFrom(key),
    ['Revoked', key.revokedAt ? `${when(key.revokedAt)}${key.revokedReason ? ` (${key.revokedReason})` : ''}` : '—'],
    [
      'Replaced by',
      key.replacedById ? html`<a href=${`#/keys/${key.replacedById}`} class="mono">${key.replacedById}</a>` : '—',
    ],
    ['Rate limit', key.rateLimitMax ? `${key.rateLimitMax} per ${(key.rateLimitWindowMs ?? 0) / 1000} s` : '—'],
    [
      'Disabled',
      key.disabledAt ? `${when(key.disabledAt)}${key.disabledReason ? ` (${key.disabledReason})` : ''}` : '—',
    ],
    ['Credits left', key.remainingUses ?? 'unlimited'],
    ['Refill', refillText(key)],
    ['Allowed IPs', html`<span class="mono">${key.allowedIps ? key.allowedIps.join(' ') : 'any'}</span>`],
    ['Metadata', html`<span class="mono">${key.metadata ? JSON.stringify(key.metadata) : '—'}</span>`],
    ['Id', html`<span class="mono">${key.id}</span>`],
  ];
  return html`<main id="main">
    <p><a href="#/">← All keys</a></p>
    <h1 tabindex="-1">${key.name}</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="status" role="status">${message}</p>
    <dl class="fields">
      ${fields.map(
        ([label, value]) =>
          html`<div>
            <dt>${label}</dt>
            <dd>${value}</dd>
          </div>`,
      )}
    </dl>
    ${
      live &&
      html`<${StatePanel} id=${id} keyRow=${key} act=${act} />
        <${EditPanel} id=${id} keyRow=${key} act=${act} key=${`edit-${version}`} />
        <${CreditsPanel} id=${id} keyRow=${key} act=${act} />
        <section aria-labelledby="edit-title" class="panel">
          <h2 id="edit-title">Scopes</h2>
          <form onSubmit=${saveScopes} class="inline">
            <div class="field grow">
              <label for="scopes">Scopes (space separated)</label>
              <input id="scopes" name="scopes" class="mono" value=${key.scopes.join(' ')} spellcheck="false" />
            </div>
            <button type="submit">Save scopes</button>
          </form>
        </section>
        ${
          !key.replacedById &&
          key.status !== 'disabled' &&
          html`<section aria-labelledby="rotate-title" class="panel">
            <h2 id="rotate-title">Rotate</h2>
            <form onSubmit=${rotate} class="inline">
              <div class="field grow">
                <label for="grace">Grace period for the old key</label>
                <select id="grace" name="grace">
                  ${GRACE_PERIODS.map(([s, label]) => html`<option value=${s}>${label}</option>`)}
                </select>
              </div>
              <button type="submit">Rotate</button>
            </form>
          </section>`
        }
        <section aria-labelledby="revoke-title" class="panel">
          <h2 id="revoke-title">Revoke</h2>
          <form onSubmit=${askRevoke} class="inline">
            <div class="field grow">
              <label for="reason">Reason (kept in the audit trail)</label>
              <input id="reason" name="reason" maxlength="255" />
            </div>
            <button type="submit" class="danger">Revoke…</button>
          </form>
        </section>`
    }
    <${UsagePanel} id=${id} />
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      <div class="table-scroll" role="region" aria-label="Audit trail table" tabindex="0">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">Actor</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            ${events.map(
              (event) =>
                html`<tr key=${event.id}>
                  <td>${when(event.at)}</td>
                  <td>${event.type.replace(/_/g, ' ')}</td>
                  <td class="mono">${event.actor ?? '—'}</td>
                  <td class="mono details">${event.details ? JSON.stringify(event.details) : ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
    ${
      revoking !== null &&
      html`<${ConfirmDialog} title=${`Revoke “${key.name}”?`} confirm="Revoke now" onAnswer=${answerRevoke}>
        <p>Every request with this key fails from the next one on. This cannot be undone.</p>
      <//>`
    }
    ${successor && html`<${SecretDialog} title="Successor key issued" secret=${successor.key} onClose=${closeSuccessor} />`}
  </main>`;
}
