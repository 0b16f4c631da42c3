/**
 * Reading an OAuth client secret (RFC 6749 section 2.3.1) as a service key,
 * for the introspection endpoint only: `client_secret_basic` and
 * `client_secret_post`. The `client_id` is not checked: the secret is a whole
 * API key and authenticates on its own.
 */

/** What an `Authorization` value gives as a Basic client secret: not Basic, or the secret (possibly garbage). */
export type BasicSecret = { readonly kind: 'not-basic' } | { readonly kind: 'secret'; readonly secret: string };

const NOT_BASIC: BasicSecret = Object.freeze({ kind: 'not-basic' });

/** Undoes `application/x-www-form-urlencoded` (RFC 6749 appendix B); `undefined` for a broken escape. */
function formDecoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The client secret of an `Authorization: Basic base64(urlencode(id):urlencode(secret))`
 * value. The scheme is case-insensitive. A Basic value that does not decode
 * (bad base64, no colon, a broken escape) still gives a secret that is no
 * key (the empty string), so it gets the same 401 as any wrong key.
 */
export function basicClientSecret(value: string): BasicSecret {
  const match = /^[ \t]*basic[ \t]+([A-Za-z0-9+/=]*)[ \t]*$/i.exec(value);
  if (!match) return /^[ \t]*basic(?:[ \t]|$)/i.test(value) ? { kind: 'secret', secret: '' } : NOT_BASIC;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'secret', secret: '' };
  return { kind: 'secret', secret: formDecoded(decoded.slice(colon + 1)) ?? '' };
}

/**
 * The `client_secret` of a parsed form or JSON body (`client_secret_post`),
 * or `undefined` when the body has none. A value that is not a string is
 * returned as it is, for the key parser to refuse.
 */
export function postedClientSecret(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  return (body as { client_secret?: unknown }).client_secret;
}
