import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';

/**
 * Shows a new plaintext key once, in a modal `<dialog>`, with a copy button.
 * When it closes, the parent drops the key and the dialog leaves the DOM:
 * nothing of it is kept in history, storage or the page.
 */
export function SecretDialog({ title, secret, onClose }: { title: string; secret: string; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState('');
  useEffect(() => {
    dialog.current?.showModal();
    field.current?.select();
  }, []);
  const close = () => {
    if (field.current) field.current.value = '';
    dialog.current?.close();
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      field.current?.select();
      setCopied('Copying is blocked here: the key is selected, press Ctrl+C.');
    }
  };
  return html`<dialog ref=${dialog} class="secret" aria-labelledby="secret-title" onClose=${onClose}>
    <h2 id="secret-title">${title}</h2>
    <p>Copy it now: this is the only time it is shown. It cannot be recovered later.</p>
    <label for="secret-value">Key</label>
    <input id="secret-value" ref=${field} class="mono" readonly value=${secret} autocomplete="off" spellcheck="false" />
    <p class="status" role="status">${copied}</p>
    <div class="actions">
      <button type="button" class="primary" onClick=${copy}>Copy</button>
      <button type="button" onClick=${close}>Done, I have stored it</button>
    </div>
  </dialog>`;
}

/** A modal confirmation with a caller-given question; resolves the choice. */
export function ConfirmDialog({
  title,
  children,
  confirm,
  onAnswer,
}: {
  title: string;
  children: unknown;
  confirm: string;
  onAnswer: (yes: boolean) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const answered = useRef(false);
  useEffect(() => dialog.current?.showModal(), []);
  const answer = (yes: boolean) => {
    answered.current = true;
    dialog.current?.close();
    onAnswer(yes);
  };
  return html`<dialog
    ref=${dialog}
    aria-labelledby="confirm-title"
    onClose=${() => answered.current || onAnswer(false)}
  >
    <h2 id="confirm-title">${title}</h2>
    ${children}
    <div class="actions">
      <button type="button" class="danger" onClick=${() => answer(true)}>${confirm}</button>
      <button type="button" onClick=${() => answer(false)}>Cancel</button>
    </div>
  </dialog>`;
}
