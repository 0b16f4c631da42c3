import { useEffect, useState } from 'preact/hooks';
import { api, isAborted, type KeyPage } from './api.js';
import { environmentOf, focusHeading, statusLabel, statusText, when } from './format.js';
import { html } from './html.js';
import { RevokeAllPanel } from './owner-actions.js';

const PAGE_SIZE = 25;
const SORTS: [string, string][] = [
  ['createdAt', 'Created'],
  ['name', 'Name'],
  ['ownerId', 'Owner'],
  ['expiresAt', 'Expires'],
  ['lastUsedAt', 'Last used'],
];

/** The key table with search, status filter, sort and paging; with `ownerId`, one owner's keys. */
export function KeyList({ ownerId }: { ownerId?: string }) {
  const [query, setQuery] = useState({ q: '', status: '', sort: 'createdAt', order: 'desc', offset: 0 });
  // What is typed in the search box, applied on submit: its own state, so a re-render (an answer landing) keeps it.
  const [draft, setDraft] = useState('');
  const [page, setPage] = useState<KeyPage | null>(null);
  const [error, setError] = useState('');
  useEffect(focusHeading, [ownerId]);
  useEffect(() => {
    const params = new URLSearchParams({ ...query, offset: String(query.offset), limit: String(PAGE_SIZE) });
    if (ownerId) params.set('ownerId', ownerId);
    for (const [name, value] of [...params]) if (value === '') params.delete(name);
    const call = new AbortController(); // a newer query replaces this one's answer
    api<KeyPage>('GET', `/keys?${params}`, undefined, call.signal)
      .then((result) => (setPage(result), setError('')))
      .catch((failure: Error) => isAborted(failure) || setError(failure.message));
    return () => call.abort();
  }, [query, ownerId]);
  const change = (patch: Partial<typeof query>) => setQuery({ ...query, offset: 0, ...patch });
  const refresh = () => setQuery({ ...query });
  const search = (event: Event) => {
    event.preventDefault();
    change({ q: draft });
  };
  const last = page ? Math.min(page.offset + page.items.length, page.total) : 0;
  return html`<main id="main">
    <div class="title-row">
      <h1 tabindex="-1">${ownerId ? html`Keys of owner <span class="mono">${ownerId}</span>` : 'API keys'}</h1>
      <a class="button primary" href="#/issue">Issue a key</a>
    </div>
    <form class="filters" role="search" aria-label="Filter keys" onSubmit=${search}>
      <div class="field grow">
        <label for="q">Search name, owner or hint</label>
        <input
          id="q"
          name="q"
          type="search"
          value=${draft}
          onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="status">Status</label>
        <select
          id="status"
          value=${query.status}
          onChange=${(e: Event) => change({ status: (e.target as HTMLSelectElement).value })}
        >
          <option value="">Any</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
          <option value="expiring">Expiring within 7 days</option>
          <option value="expired">Expired</option>
          <option value="used-up">Used up (no uses left)</option>
          <option value="revoked">Revoked</option>
        </select>
      </div>
      <div class="field">
        <label for="sort">Sort by</label>
        <select
          id="sort"
          value=${query.sort}
          onChange=${(e: Event) => {
            const sort = (e.target as HTMLSelectElement).value;
            change({ sort, order: sort === 'createdAt' ? 'desc' : 'asc' }); // newest first; names A to Z
          }}
        >
          ${SORTS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
        </select>
      </div>
      <div class="field">
        <label for="order">Order</label>
        <select
          id="order"
          value=${query.order}
          onChange=${(e: Event) => change({ order: (e.target as HTMLSelectElement).value })}
        >
          <option value="asc">Ascending</option>
          <option value="desc">Descending</option>
        </select>
      </div>
      <button type="submit">Search</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="status" role="status">
      ${page && (page.total === 0 ? 'No keys match.' : `Keys ${page.offset + 1}–${last} of ${page.total}`)}
      ${page?.truncated && ' (only the newest keys were searched)'}
    </p>
    ${
      page &&
      page.items.length > 0 &&
      html`<div class="table-scroll" role="region" aria-label="Keys table" tabindex="0">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">Hint</th>
              <th scope="col">Env</th>
              <th scope="col">Scopes</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
            </tr>
          </thead>
          <tbody>
            ${page.items.map(
              (key) =>
                html`<tr key=${key.id}>
                  <td><a href=${`#/keys/${key.id}`}>${key.name}</a></td>
                  <td>
                    ${key.ownerId ? html`<a href=${`#/owners/${encodeURIComponent(key.ownerId)}`}>${key.ownerId}</a>` : '—'}
                  </td>
                  <td class="mono">${key.hint}…</td>
                  <td>${environmentOf(key)}</td>
                  <td class="scopes">${key.scopes.join(' ') || '—'}</td>
                  <td><span class=${`badge ${statusLabel(key)}`}>${statusText(key)}</span></td>
                  <td>${when(key.expiresAt)}</td>
                  <td>${when(key.lastUsedAt)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>`
    }
    ${
      page &&
      page.total > PAGE_SIZE &&
      html`<nav class="pager" aria-label="Pages">
        <button
          type="button"
          disabled=${page.offset === 0}
          onClick=${() => setQuery({ ...query, offset: Math.max(0, query.offset - PAGE_SIZE) })}
        >
          Previous
        </button>
        <button
          type="button"
          disabled=${last >= page.total}
          onClick=${() => setQuery({ ...query, offset: query.offset + PAGE_SIZE })}
        >
          Next
        </button>
      </nav>`
    }
    ${ownerId && html`<${RevokeAllPanel} ownerId=${ownerId} onDone=${refresh} />`}
  </main>`;
}
