import { useState } from 'preact/hooks';
import { ApiError, api, setCredential, type Session } from './api.js';
import { html } from './html.js';

/** Signs in with an admin API key, kept in memory for this tab only. */
export function SignIn({ notice, onSignedIn }: { notice: string; onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  // The notice (signed out, or the key stopped working) is about the last session: gone once a new key is tried.
  const [tried, setTried] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setTried(true);
    const form = event.currentTarget as HTMLFormElement;
    const input = form.elements.namedItem('admin-key') as HTMLInputElement;
    setBusy(true);
    setCredential(input.value.trim());
    try {
      const session = await api<Session>('GET', '/session');
      input.value = '';
      onSignedIn(session);
    } catch (failure) {
      setCredential(null);
      const status = failure instanceof ApiError ? failure.status : 0;
      setError(
        status === 401
          ? 'That key was not accepted: it may be mistyped or cut short, unknown to this app, or revoked, ' +
              'expired, disabled or used up.'
          : status === 403
            ? 'That key is valid but does not hold the admin scope: it cannot manage keys.'
            : `Sign-in failed: ${(failure as Error).message}`,
      );
      input.focus();
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="narrow" id="main">
    <h1 tabindex="-1">Sign in to the API key console</h1>
    ${notice && !tried && html`<p class="notice" role="status">${notice}</p>`}
    <form onSubmit=${submit} autocomplete="off">
      <label for="admin-key">Admin API key</label>
      <input
        id="admin-key"
        name="admin-key"
        type="password"
        class="mono"
        required
        spellcheck="false"
        autocomplete="off"
        aria-describedby="admin-key-help${error ? ' sign-in-error' : ''}"
        aria-invalid=${error ? 'true' : 'false'}
      />
      <p id="admin-key-help" class="help">
        It stays in this tab's memory and is sent as a Bearer token; reloading the page signs you out.
      </p>
      ${error && html`<p id="sign-in-error" class="error" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}
