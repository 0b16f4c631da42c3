import { constantTimeEqual } from '../key/key-hash.js';

/** What a request carries: no key, one key, or two different keys (a malformed request). */
export type ExtractedCredential =
  { readonly kind: 'none' } | { readonly kind: 'key'; readonly key: string } | { readonly kind: 'conflict' };

/** Where keys are read from. */
export interface CredentialSources {
  readonly bearer: boolean;
  readonly header: string | false;
}

type HeaderValue = string | string[] | undefined;

const NONE: ExtractedCredential = Object.freeze({ kind: 'none' });
const CONFLICT: ExtractedCredential = Object.freeze({ kind: 'conflict' });

/**
 * The token of an `Authorization: Bearer <token>` value, or `undefined` for
 * another scheme. The scheme is case-insensitive (RFC 9110 11.1), spaces and
 * tabs around the token are tolerated; the token itself is returned as sent
 * and judged by the key parser.
 */
export function bearerToken(value: string): string | undefined {
  const trimmed = value.replace(/^[ \t]+|(?<![ \t])[ \t]+$/g, '');
  const match = /^bearer(?:[ \t]+|$)/i.exec(trimmed);
  return match ? trimmed.slice(match[0].length) : undefined;
}

/** The lower-case names of the headers a key may come in, for {@link credentialHeaderLines}. */
export function credentialHeaderNames(sources: CredentialSources): readonly string[] {
  return [...(sources.bearer ? ['authorization'] : []), ...(sources.header ? [sources.header.toLowerCase()] : [])];
}

/**
 * The lines of the credential headers, as `IncomingMessage.headersDistinct`
 * gives them (every repeated line kept, values as sent), picked out of
 * `rawHeaders` (name, value, name, value, ...) without building an object of
 * every header the request carries.
 */
export function credentialHeaderLines(
  rawHeaders: readonly string[],
  names: readonly string[],
): Record<string, string[]> {
  const lines: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    for (const wanted of names) {
      if (name.length === wanted.length && name.toLowerCase() === wanted)
        (lines[wanted] ??= []).push(rawHeaders[i + 1]);
    }
  }
  return lines;
}

function single(value: HeaderValue): string | string[] | undefined {
  if (Array.isArray(value)) return value.length === 1 ? value[0] : value.length === 0 ? undefined : value;
  return value;
}

/**
 * Reads the key from request headers (never from the URL: URLs end up in
 * logs). Two different keys, by repetition or across the two sources, are a
 * conflict; the comparison runs in constant time.
 */
export function extractCredential(
  headers: Record<string, HeaderValue>,
  sources: CredentialSources,
): ExtractedCredential {
  const found: string[] = [];
  if (sources.bearer) {
    const authorization = single(headers.authorization);
    if (Array.isArray(authorization)) return CONFLICT;
    const token = authorization === undefined ? undefined : bearerToken(authorization);
    if (token !== undefined) found.push(token);
  }
  if (sources.header) {
    const value = single(headers[sources.header]);
    if (Array.isArray(value)) return CONFLICT;
    if (value !== undefined) found.push(value.replace(/^[ \t]+|(?<![ \t])[ \t]+$/g, ''));
  }
  if (found.length === 0) return NONE;
  if (found.length === 2 && !constantTimeEqual(found[0], found[1])) return CONFLICT;
  return { kind: 'key', key: found[0] };
}

/**
 * Adds a key found outside the headers (a WebSocket `auth` payload, a message
 * field) to what the headers gave: the same key twice is one key, two
 * different ones are a conflict (compared in constant time). A value that is
 * not a string is still a key, for the parser to refuse.
 */
export function withCredential(found: ExtractedCredential, extra: unknown): ExtractedCredential {
  if (extra === undefined || extra === null || found.kind === 'conflict') return found;
  if (found.kind === 'none') return { kind: 'key', key: extra as string };
  if (typeof extra !== 'string' || !constantTimeEqual(found.key, extra)) return CONFLICT;
  return found;
}
