import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, hostSignIn, setCredential, whenUnauthorized, type OwnerPolicies, type Session } from './api.js';
import { html } from './html.js';
import { IssueForm } from './issue-form.js';
import { KeyList } from './key-list.js';
import { KeyPage } from './key-page.js';
import { OwnerPoliciesPage } from './owner-policies.js';
import { SignIn } from './sign-in.js';

/** The hash route: `#/`, `#/issue`, `#/keys/<id>`, `#/owners/<ownerId>`, `#/policies`. Ids only: never a key. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checked, setChecked] = useState(!hostSignIn);
  const [notice, setNotice] = useState('');
  const [policies, setPolicies] = useState(false);
  const route = useRoute();
  // The policies page only when the app uses owner policies (the API says `enabled: false` otherwise).
  useEffect(() => {
    if (session)
      api<OwnerPolicies>('GET', '/owner-policies').then(
        (p) => setPolicies(p.enabled),
        () => setPolicies(false),
      );
  }, [session]);
  const signOut = (why = '') => {
    setCredential(null);
    setSession(null);
    setNotice(why);
  };
  // Only for a key that was signed in: the sign-in form explains the refusal of a key being tried.
  useEffect(() => whenUnauthorized(() => signOut('The console stopped accepting your key; sign in again.')), []);
  useEffect(() => {
    // With the host's guard (its own session login), ask who is signed in; with admin keys, wait for one.
    if (!hostSignIn) return;
    api<Session>('GET', '/session')
      .then(setSession)
      .catch(() => {})
      .finally(() => setChecked(true));
  }, []);
  if (!checked) return html`<p class="loading">Loading…</p>`;
  const header = html`<header class="bar">
    <a
      class="skip"
      href="#main"
      onClick=${(e: Event) => (e.preventDefault(), document.querySelector<HTMLElement>('main h1')?.focus())}
      >Skip to content</a
    >
    <a class="brand" href="#/">API keys</a>
    ${
      session &&
      html`<nav aria-label="Console">
          <a href="#/">Keys</a><a href="#/issue">Issue</a>${policies && html`<a href="#/policies">Policies</a>`}
        </nav>
        <span class="who">signed in as <span class="mono">admin:${session.admin.id.slice(0, 8)}</span></span>
        <button type="button" onClick=${() => signOut('Signed out.')}>Sign out</button>`
    }
  </header>`;
  if (!session) {
    return html`${header}<${SignIn}
        notice=${notice}
        onSignedIn=${(s: Session) => {
          setSession(s);
          setNotice('');
        }}
      />`;
  }
  const [page, arg] = route;
  const body =
    page === 'issue'
      ? html`<${IssueForm} session=${session} />`
      : page === 'policies' && policies
        ? html`<${OwnerPoliciesPage} />`
        : page === 'keys' && arg
          ? html`<${KeyPage} id=${arg} />`
          : page === 'owners' && arg
            ? html`<${KeyList} ownerId=${arg} key=${arg} />`
            : html`<${KeyList} />`;
  return html`${header}${body}`;
}

render(html`<${App} />`, document.getElementById('app')!);
