import { useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { ConfirmDialog } from './secret-dialog.js';

/** "Revoke all" on an owner's page: a reason, a confirmation, then every live key of the owner is revoked. */
export function RevokeAllPanel({ ownerId, onDone }: { ownerId: string; onDone: () => void }) {
  const [asking, setAsking] = useState<string | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const ask = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    setAsking((form.elements.namedItem('revoke-all-reason') as HTMLInputElement).value.trim());
  };
  const answer = async (yes: boolean) => {
    const reason = asking;
    setAsking(null);
    if (!yes) return;
    try {
      const { revoked } = await api<{ revoked: number }>('POST', `/owners/${encodeURIComponent(ownerId)}/revoke-all`, {
        reason: reason || undefined,
      });
      setError('');
      setMessage(`Revoked ${revoked} key${revoked === 1 ? '' : 's'}.`);
      onDone();
    } catch (failure) {
      setMessage('');
      setError((failure as Error).message);
    }
  };
  return html`<section aria-labelledby="revoke-all-title" class="panel">
    <h2 id="revoke-all-title">Revoke all of this owner's keys</h2>
    <form onSubmit=${ask} class="inline">
      <div class="field grow">
        <label for="revoke-all-reason">Reason (kept in the audit trail)</label>
        <input id="revoke-all-reason" name="revoke-all-reason" maxlength="255" />
      </div>
      <button type="submit" class="danger">Revoke all…</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="status" role="status">${message}</p>
    ${
      asking !== null &&
      html`<${ConfirmDialog} title=${`Revoke every key of “${ownerId}”?`} confirm="Revoke all now" onAnswer=${answer}>
        <p>Every live key of this owner stops working on its next request. This cannot be undone.</p>
      <//>`
    }
  </section>`;
}
