import { useEffect, useState } from 'preact/hooks';
import { api, type KeyRow, type Session } from './api.js';
import { focusHeading, grantCovers, scopeList } from './format.js';
import { html } from './html.js';
import { addressList } from './key-controls.js';
import { SecretDialog } from './secret-dialog.js';

const DAY = 86_400_000;
const LIFETIMES: [string, number][] = [
  ['1 day', DAY],
  ['7 days', 7 * DAY],
  ['30 days', 30 * DAY],
  ['90 days', 90 * DAY],
  ['1 year', 365 * DAY],
];

/** The expiry choices the key policy allows: never (without a maximum), presets within it, a date. */
function lifetimesFor(policy: Session['policy']): [string, string][] {
  const allowed = LIFETIMES.filter(([, ms]) => policy.maxLifetimeMs === null || ms <= policy.maxLifetimeMs);
  return [
    ...(policy.maxLifetimeMs === null ? ([['never', 'Never']] as [string, string][]) : []),
    ...allowed.map(([label, ms]): [string, string] => [String(ms), label]),
    ['date', 'On a date…'],
  ];
}

/** Issues a key within the admin's scopes and the key policy; shows the plaintext once. */
export function IssueForm({ session }: { session: Session }) {
  const { policy, admin } = session;
  const choices = lifetimesFor(policy);
  const [lifetime, setLifetime] = useState(
    policy.defaultLifetimeMs && choices.some(([v]) => v === String(policy.defaultLifetimeMs))
      ? String(policy.defaultLifetimeMs)
      : choices[0][0],
  );
  const [error, setError] = useState('');
  const [issued, setIssued] = useState<{ key: string; record: KeyRow } | null>(null);
  useEffect(focusHeading, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
    const held = [...form.querySelectorAll<HTMLInputElement>('input[name=held]:checked')].map((box) => box.value);
    const scopes = [...new Set([...held, ...scopeList(value('extra-scopes'))])];
    const beyond = scopes.filter((scope) => !admin.scopes.some((grant) => grantCovers(grant, scope)));
    if (beyond.length > 0) return setError(`You cannot grant scopes you do not hold: ${beyond.join(', ')}`);
    const now = Date.now();
    const expiresAt =
      lifetime === 'never'
        ? null
        : lifetime === 'date'
          ? value('expiry-date') && new Date(`${value('expiry-date')}T23:59:59`).toISOString()
          : new Date(now + Number(lifetime)).toISOString();
    const limit = value('rate-limit');
    const uses = value('max-uses');
    const credits = value('credits');
    const refill = value('refill-amount');
    const body = {
      name: value('name'),
      ownerId: value('owner') || undefined,
      scopes,
      environment: value('environment') || undefined,
      expiresAt: expiresAt || null,
      maxUses: uses ? Number(uses) : undefined,
      credits: credits
        ? {
            remaining: Number(credits),
            refill: refill
              ? { amount: Number(refill), intervalMs: Number(value('refill-hours') || '24') * 3_600_000 }
              : undefined,
          }
        : undefined,
      allowedIps: addressList(value('allowed-ips')) ?? undefined,
      rateLimit: limit ? { limit: Number(limit), windowMs: Number(value('rate-window') || '60') * 1000 } : undefined,
    };
    try {
      const result = await api<{ key: string; record: KeyRow }>('POST', '/keys', body);
      form.reset();
      setError('');
      setIssued(result);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };

  const closeSecret = () => {
    const id = issued?.record.id;
    setIssued(null); // the plaintext leaves the state and the DOM here
    if (id) location.hash = `#/keys/${id}`;
  };

  return html`<main id="main" class="narrow">
    <h1 tabindex="-1">Issue a key</h1>
    <form onSubmit=${submit} autocomplete="off">
      <label for="name">Name</label>
      <input id="name" name="name" required maxlength="100" />
      <label for="owner">Owner (user, team or tenant id; optional)</label>
      <input id="owner" name="owner" maxlength="255" />
      <fieldset>
        <legend>Scopes you hold and may grant</legend>
        ${admin.scopes.map(
          (scope, index) =>
            html`<div class="check">
              <input type="checkbox" id=${`held-${index}`} name="held" value=${scope} />
              <label for=${`held-${index}`} class="mono">${scope}</label>
            </div>`,
        )}
        <label for="extra-scopes">Narrower scopes (space separated, within the ones above)</label>
        <input id="extra-scopes" name="extra-scopes" class="mono" placeholder="orders:read" spellcheck="false" />
      </fieldset>
      ${
        policy.environments.length > 0 &&
        html`<label for="environment">Environment</label>
          <select id="environment" name="environment">
            ${policy.environments.map((env) => html`<option value=${env}>${env}</option>`)}
          </select>`
      }
      <label for="lifetime">Expires</label>
      <select
        id="lifetime"
        value=${lifetime}
        onChange=${(e: Event) => setLifetime((e.target as HTMLSelectElement).value)}
      >
        ${choices.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      ${
        lifetime === 'date' &&
        html`<label for="expiry-date">Expiry date</label
          ><input id="expiry-date" name="expiry-date" type="date" required />`
      }
      ${
        policy.maxLifetimeMs !== null &&
        html`<p class="help">The key policy allows at most ${Math.floor(policy.maxLifetimeMs / DAY)} days.</p>`
      }
      <fieldset>
        <legend>Rate limit (optional)</legend>
        <div class="pair">
          <div class="field">
            <label for="rate-limit">Requests</label>
            <input id="rate-limit" name="rate-limit" type="number" min="1" inputmode="numeric" />
          </div>
          <div class="field">
            <label for="rate-window">per seconds</label>
            <input id="rate-window" name="rate-window" type="number" min="1" value="60" inputmode="numeric" />
          </div>
        </div>
      </fieldset>
      <label for="max-uses">Uses allowed (optional; 1 = single use)</label>
      <input id="max-uses" name="max-uses" type="number" min="1" inputmode="numeric" />
      <fieldset>
        <legend>Credits (optional; each request spends the route's cost)</legend>
        <label for="credits">Starting credits</label>
        <input id="credits" name="credits" type="number" min="0" inputmode="numeric" />
        <div class="pair">
          <div class="field">
            <label for="refill-amount">Refill to</label>
            <input id="refill-amount" name="refill-amount" type="number" min="1" inputmode="numeric" />
          </div>
          <div class="field">
            <label for="refill-hours">every hours</label>
            <input id="refill-hours" name="refill-hours" type="number" min="1" value="24" inputmode="numeric" />
          </div>
        </div>
      </fieldset>
      <label for="allowed-ips">Allowed IPs and CIDR ranges (optional; space separated; empty: any address)</label>
      <input id="allowed-ips" name="allowed-ips" class="mono" spellcheck="false" placeholder="203.0.113.0/24" />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="actions">
        <button type="submit" class="primary">Issue</button>
        <a class="button" href="#/">Cancel</a>
      </div>
    </form>
    ${issued && html`<${SecretDialog} title=${`Key “${issued.record.name}” issued`} secret=${issued.key} onClose=${closeSecret} />`}
  </main>`;
}
