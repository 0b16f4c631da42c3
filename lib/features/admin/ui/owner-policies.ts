import { useEffect, useState } from 'preact/hooks';
import { api, isAborted, type OwnerPolicies, type OwnerPolicy, type OwnerPolicyChange } from './api.js';
import { focusHeading, scopeList, when } from './format.js';
import { html } from './html.js';
import { addressList } from './key-controls.js';

const DAY = 86_400_000;

/** A policy's rules in words, one per line. */
function rulesOf(policy: OwnerPolicy): string[] {
  const rules: string[] = [];
  if (policy.scopes) rules.push(`scopes within ${policy.scopes.join(', ') || '(none)'}`);
  if (policy.requireExpiry) rules.push('must expire');
  if (policy.maxLifetimeMs) rules.push(`live at most ${Math.round((policy.maxLifetimeMs / DAY) * 100) / 100} days`);
  if (policy.environments) rules.push(`environments ${policy.environments.join(', ')}`);
  if (policy.allowedIps) rules.push(`addresses within ${policy.allowedIps.join(', ')}`);
  return rules.length > 0 ? rules : ['no rule'];
}

/** The policy the form describes; empty fields set no rule. */
function policyOf(form: HTMLFormElement): OwnerPolicy {
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
  const policy: OwnerPolicy = {};
  if (value('policy-scopes')) policy.scopes = scopeList(value('policy-scopes'));
  if ((form.elements.namedItem('policy-expiry') as HTMLInputElement).checked) policy.requireExpiry = true;
  if (value('policy-days')) policy.maxLifetimeMs = Math.round(Number(value('policy-days')) * DAY);
  if (value('policy-environments')) policy.environments = scopeList(value('policy-environments'));
  const ips = addressList(value('policy-ips'));
  if (ips) policy.allowedIps = ips;
  return policy;
}

/**
 * `#/policies`: each owner's policy (and the default, `*`), and a form to set or remove one. Tightening a policy
 * disables the owner's keys that break it at once; relaxing it enables them again. Read-only for an admin key
 * bound to an owner.
 */
export function OwnerPoliciesPage() {
  const [data, setData] = useState<OwnerPolicies | null>(null);
  const [error, setError] = useState('');
  const [message, setMessage] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(focusHeading, []);
  useEffect(() => {
    const call = new AbortController();
    api<OwnerPolicies>('GET', '/owner-policies', undefined, call.signal)
      .then(setData)
      .catch((failure: Error) => isAborted(failure) || setError(failure.message));
    return () => call.abort();
  }, [version]);
  const report = (change: OwnerPolicyChange) => {
    setError('');
    setMessage(
      `Policy of ${change.ownerId} ${change.policy ? 'saved' : 'removed'}: ` +
        `${change.disabled.length} key(s) disabled, ${change.enabled.length} enabled again.`,
    );
    setVersion(version + 1);
  };
  const run = (call: () => Promise<OwnerPolicyChange>) =>
    call()
      .then(report)
      .catch((failure: Error) => (setMessage(''), setError(failure.message)));
  const save = (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const owner = (form.elements.namedItem('policy-owner') as HTMLInputElement).value.trim();
    run(() => api<OwnerPolicyChange>('PUT', `/owner-policies/${encodeURIComponent(owner)}`, policyOf(form)));
  };
  const remove = (owner: string) =>
    run(() => api<OwnerPolicyChange>('DELETE', `/owner-policies/${encodeURIComponent(owner)}`));
  if (data && !data.enabled)
    return html`<main id="main">
      <h1 tabindex="-1">Owner policies</h1>
      <p>Not enabled on this app.</p>
    </main>`;
  return html`<main id="main">
    <h1 tabindex="-1">Owner policies</h1>
    <p>
      Every key of an owner must follow its policy; owner <span class="mono">*</span> is the default for owners without
      one.
    </p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="status" role="status">${message}</p>
    <div class="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Owner</th>
            <th scope="col">Rules</th>
            <th scope="col">Updated</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          ${data?.policies.map(
            (row) =>
              html`<tr>
                <td class="mono">${row.ownerId}</td>
                <td>${rulesOf(row.policy).map((rule) => html`<div>${rule}</div>`)}</td>
                <td>${when(row.updatedAt)} ${row.updatedBy ? `by ${row.updatedBy}` : ''}</td>
                <td>
                  ${data.editable && html`<button type="button" class="danger" onClick=${() => remove(row.ownerId)}>Remove</button>`}
                </td>
              </tr>`,
          )}
          ${
            data?.policies.length === 0 &&
            html`<tr>
              <td colspan="4">No policy yet.</td>
            </tr>`
          }
        </tbody>
      </table>
    </div>
    ${
      data?.editable
        ? html`<section aria-labelledby="policy-form-title" class="panel">
            <h2 id="policy-form-title">Set a policy</h2>
            <form onSubmit=${save}>
              <div class="field">
                <label for="policy-owner">Owner (<span class="mono">*</span> for the default)</label
                ><input id="policy-owner" name="policy-owner" required maxlength="255" />
              </div>
              <div class="field">
                <label for="policy-scopes">Scopes keys may hold (empty: any)</label
                ><input id="policy-scopes" name="policy-scopes" />
              </div>
              <div class="field">
                <label for="policy-days">Longest lifetime in days (empty: no limit)</label
                ><input id="policy-days" name="policy-days" type="number" min="0.02" step="any" />
              </div>
              <div class="field">
                <label><input id="policy-expiry" name="policy-expiry" type="checkbox" /> Keys must expire</label>
              </div>
              <div class="field">
                <label for="policy-environments">Environments allowed (empty: any)</label
                ><input id="policy-environments" name="policy-environments" />
              </div>
              <div class="field">
                <label for="policy-ips">Address ranges keys must be restricted to (empty: any)</label
                ><input id="policy-ips" name="policy-ips" />
              </div>
              <button type="submit" class="primary">Save policy</button>
            </form>
          </section>`
        : data && html`<p>Your admin key is bound to its owner: it cannot edit policies.</p>`
    }
  </main>`;
}
