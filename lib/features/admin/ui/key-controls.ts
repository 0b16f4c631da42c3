import { api, type KeyRow } from './api.js';
import { html } from './html.js';

/** Runs a change of the key and reports it (the key page's `act`). */
type Act = (run: () => Promise<unknown>, done: string) => void;

const field = (form: HTMLFormElement, name: string) =>
  (form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement).value.trim();

/** `2026-12-01` of an ISO date, for a date input. */
const dayOf = (iso: string | null) => (iso ? iso.slice(0, 10) : '');

/** Splits an allowlist typed as `a, b` or one a line; empty means any address. */
export function addressList(text: string): string[] | null {
  const list = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  return list.length > 0 ? list : null;
}

/** Disable (reversible, with a reason) or enable the key. */
export function StatePanel({ id, keyRow, act }: { id: string; keyRow: KeyRow; act: Act }) {
  const disabled = keyRow.status === 'disabled';
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    if (disabled) return act(() => api('POST', `/keys/${id}/enable`), 'Enabled: the key works again.');
    const reason = field(form, 'disable-reason');
    act(
      () => api('POST', `/keys/${id}/disable`, { reason: reason || undefined }),
      'Disabled: requests with it now fail until you enable it.',
    );
  };
  return html`<section aria-labelledby="state-title" class="panel">
    <h2 id="state-title">${disabled ? 'Disabled' : 'Disable'}</h2>
    <form onSubmit=${submit} class="inline">
      ${
        disabled
          ? html`<p class="grow">
              Disabled ${keyRow.disabledReason ? `(${keyRow.disabledReason})` : ''}: requests fail.
            </p>`
          : html`<div class="field grow">
              <label for="disable-reason">Reason (optional; reversible, unlike revoke)</label>
              <input id="disable-reason" name="disable-reason" maxlength="255" />
            </div>`
      }
      <button type="submit">${disabled ? 'Enable' : 'Disable'}</button>
    </form>
  </section>`;
}

/** Edits name, metadata, expiry, rate limit and IP allowlist in one PATCH (only the fields that changed). */
export function EditPanel({ id, keyRow, act }: { id: string; keyRow: KeyRow; act: Act }) {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const patch: Record<string, unknown> = {};
    const name = field(form, 'edit-name');
    if (name !== keyRow.name) patch.name = name;
    const metadata = field(form, 'edit-metadata');
    if (metadata !== (keyRow.metadata ? JSON.stringify(keyRow.metadata) : '')) {
      try {
        patch.metadata = metadata ? JSON.parse(metadata) : null;
      } catch {
        return act(() => Promise.reject(new Error('Metadata must be JSON, e.g. {"plan":"team"}')), '');
      }
    }
    const expiry = field(form, 'edit-expiry');
    if (expiry !== dayOf(keyRow.expiresAt)) {
      patch.expiresAt = expiry ? new Date(`${expiry}T23:59:59`).toISOString() : null;
    }
    const limit = field(form, 'edit-rate');
    const window = field(form, 'edit-window') || '60';
    if (limit !== String(keyRow.rateLimitMax ?? '') || Number(window) * 1000 !== (keyRow.rateLimitWindowMs ?? 60000)) {
      patch.rateLimit = limit ? { limit: Number(limit), windowMs: Number(window) * 1000 } : null;
    }
    const ips = addressList(field(form, 'edit-ips'));
    if ((ips ?? []).join(' ') !== (keyRow.allowedIps ?? []).join(' ')) patch.allowedIps = ips;
    if (Object.keys(patch).length === 0) return act(() => Promise.reject(new Error('Nothing changed.')), '');
    act(() => api('PATCH', `/keys/${id}`, patch), 'Saved: the next request sees the change.');
  };
  return html`<section aria-labelledby="details-title" class="panel">
    <h2 id="details-title">Details</h2>
    <form onSubmit=${submit} autocomplete="off">
      <label for="edit-name">Name</label>
      <input id="edit-name" name="edit-name" required maxlength="100" defaultValue=${keyRow.name} />
      <label for="edit-metadata">Metadata (JSON, never secrets)</label>
      <textarea
        id="edit-metadata"
        name="edit-metadata"
        class="mono"
        rows="2"
        spellcheck="false"
        defaultValue=${keyRow.metadata ? JSON.stringify(keyRow.metadata) : ''}
      ></textarea>
      <label for="edit-expiry">Expires on (empty: never, if the policy allows)</label>
      <input id="edit-expiry" name="edit-expiry" type="date" defaultValue=${dayOf(keyRow.expiresAt)} />
      <fieldset>
        <legend>Rate limit (empty: the module default)</legend>
        <div class="pair">
          <div class="field">
            <label for="edit-rate">Requests</label>
            <input id="edit-rate" name="edit-rate" type="number" min="1" defaultValue=${keyRow.rateLimitMax ?? ''} />
          </div>
          <div class="field">
            <label for="edit-window">per seconds</label>
            <input
              id="edit-window"
              name="edit-window"
              type="number"
              min="1"
              defaultValue=${(keyRow.rateLimitWindowMs ?? 60000) / 1000}
            />
          </div>
        </div>
      </fieldset>
      <label for="edit-ips">Allowed IPs and CIDR ranges (space separated; empty: any address)</label>
      <input
        id="edit-ips"
        name="edit-ips"
        class="mono"
        spellcheck="false"
        defaultValue=${(keyRow.allowedIps ?? []).join(' ')}
      />
      <div class="actions"><button type="submit">Save details</button></div>
    </form>
  </section>`;
}

/** Adds credits to the balance or sets it. */
export function CreditsPanel({ id, keyRow, act }: { id: string; keyRow: KeyRow; act: Act }) {
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const amount = Number(field(event.currentTarget as HTMLFormElement, 'credit-amount'));
    const mode = (event.submitter as HTMLButtonElement | null)?.value === 'set' ? 'set' : 'add';
    act(
      () => api('POST', `/keys/${id}/credits`, { [mode]: amount }),
      mode === 'set' ? 'Balance set.' : 'Credits added.',
    );
  };
  return html`<section aria-labelledby="credits-title" class="panel">
    <h2 id="credits-title">Credits</h2>
    <p>Balance: ${keyRow.remainingUses ?? 'unlimited'}</p>
    <form onSubmit=${submit} class="inline">
      <div class="field grow">
        <label for="credit-amount">Credits to add or set</label>
        <input id="credit-amount" name="credit-amount" type="number" min="0" required inputmode="numeric" />
      </div>
      ${keyRow.remainingUses !== null && html`<button type="submit" value="add">Add</button>`}
      <button type="submit" value="set">Set balance</button>
    </form>
  </section>`;
}
