import type { KeyRow } from './api.js';

/** A date for people: `2026-12-01 19:56`, or a dash. */
export function when(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The key's status as a word, `expiring` for active keys close to their expiry. */
export function statusLabel(key: KeyRow): string {
  if (key.status === 'active' && key.replacedById) return 'rotating';
  return key.expiringSoon ? 'expiring' : key.status;
}

/** The key's status for people: {@link statusLabel} in words (`used up`). */
export function statusText(key: KeyRow): string {
  return statusLabel(key).replace('-', ' ');
}

/** The environment marked in the hint (`sk_live_abcd` gives `live`), or a dash. */
export function environmentOf(key: KeyRow): string {
  const parts = key.hint.split('_');
  return parts.length > 2 ? parts[parts.length - 2] : '—';
}

/** True when one granted scope covers a wanted one (as the server's scope matcher). */
export function grantCovers(granted: string, wanted: string): boolean {
  if (granted === wanted || granted === '*') return true;
  return granted.endsWith(':*') && wanted.startsWith(granted.slice(0, -1));
}

/** Splits `a b, c` into scopes. */
export function scopeList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** Moves focus to the page's heading after navigation, so screen readers announce the new page. */
export function focusHeading(): void {
  requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
}
