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
  // The common form, `Bearer <token>` with one space and nothing around it, without a regular expression.
  if (
    value.length > 7 &&
    value.charCodeAt(6) === 32 &&
    !isBlank(value.charCodeAt(7)) &&
    !isBlank(value.charCodeAt(value.length - 1)) &&
    (value.startsWith('Bearer') || value.slice(0, 6).toLowerCase() === 'bearer')
  )
    return value.slice(7);
  const trimmed = value.replace(/^[ \t]+|(?<![ \t])[ \t]+$/g, '');
  const match = /^bearer(?:[ \t]+|$)/i.exec(trimmed);
  return match ? trimmed.slice(match[0].length) : undefined;
}

/** A space or a tab. */
function isBlank(code: number): boolean {
  return code === 32 || code === 9;
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
      if (name.length === wanted.length && (name === wanted || name.toLowerCase() === wanted))
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
  let bearer: string | undefined;
  let other: string | undefined;
  if (sources.bearer) {
    const authorization = single(headers.authorization);
    if (Array.isArray(authorization)) return CONFLICT;
    bearer = authorization === undefined ? undefined : bearerToken(authorization);
  }
  if (sources.header) {
    const value = single(headers[sources.header]);
    if (Array.isArray(value)) return CONFLICT;
    if (value !== undefined) other = value.replace(/^[ \t]+|(?<![ \t])[ \t]+$/g, '');
  }
  if (bearer === undefined) return other === undefined ? NONE : { kind: 'key', key: other };
  if (other !== undefined && !constantTimeEqual(bearer, other)) return CONFLICT;
  return { kind: 'key', key: bearer };
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

/**
 * The header lines a request's key is read from, every repeated line of them
 * (Node keeps only the first Authorization in `headers`): from `rawHeaders`
 * where there is one (Express, Fastify's raw request), which reads just the
 * headers named; otherwise `headersDistinct`, or `headers`.
 */
export function requestHeaderLines(
  request: Record<string, any>,
  headerNames: readonly string[],
): Record<string, string | string[] | undefined> {
  const rawHeaders = request.rawHeaders ?? request.raw?.rawHeaders;
  return Array.isArray(rawHeaders)
    ? credentialHeaderLines(rawHeaders, headerNames)
    : (request.headersDistinct ?? request.headers ?? {});
}

/** Whether a presented value starts with one of a setup's prefixes (no I/O; the parser judges the rest). */
export function carriesPrefix(key: string, prefixes: ReadonlyMap<string, unknown>): boolean {
  if (typeof key !== 'string') return false;
  for (const prefix of prefixes.keys()) if (key.startsWith(`${prefix}_`)) return true;
  return false;
}

/**
 * {@link unreadCredential} of a request (its `Authorization` header and URL):
 * why a request whose key was sent where the guard never reads one carries none.
 */
export function unreadCredentialOf(request: Record<string, any>, bearer: boolean): ReturnType<typeof unreadCredential> {
  const headers = request.headers ?? request.raw?.headers;
  const url = typeof request.originalUrl === 'string' ? request.originalUrl : request.url;
  return unreadCredential(headers?.authorization, typeof url === 'string' ? url : undefined, bearer);
}

/** Query parameters a client may put a key in by mistake; a key there is never read (URLs end up in logs). */
const QUERY_NAMES = ['api_key', 'apikey', 'api-key', 'key', 'access_token', 'token'];

/**
 * Why a request that carries no readable key may still have tried to send
 * one, for a debug line: an `Authorization` scheme other than Bearer
 * (`Token`, `Basic`...), or a key-like query parameter. Returns a fixed
 * bucket name and a message without client text (scheme names are kept only
 * when they are short words), or `undefined`.
 */
export function unreadCredential(
  authorization: string | string[] | undefined,
  url: string | undefined,
  bearer: boolean,
): { readonly bucket: string; readonly message: string } | undefined {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  if (value !== undefined && value.trim() !== '') {
    const scheme = /^[ \t]*([A-Za-z]{1,16})(?:[ \t]|$)/.exec(value)?.[1];
    const name = scheme ? scheme[0].toUpperCase() + scheme.slice(1).toLowerCase() : 'another scheme';
    if (!bearer)
      return { bucket: 'authorization', message: 'API key not read: Authorization is not read (bearer is off)' };
    return {
      bucket: `scheme:${name}`,
      message: `API key not read: Authorization ${name} is not read, send Authorization: Bearer <key>`,
    };
  }
  const query = url?.indexOf('?') ?? -1;
  if (url !== undefined && query >= 0) {
    const params = new URLSearchParams(url.slice(query + 1));
    const found = QUERY_NAMES.find((name) => params.has(name));
    if (found)
      return {
        bucket: `query:${found}`,
        message: `API key not read: the query parameter ${found} is never read (URLs are logged), send the key in a header`,
      };
  }
  return undefined;
}
