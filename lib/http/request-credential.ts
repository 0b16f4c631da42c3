import { credentialHeaderLines } from './credential-extractor.js';
import { unreadCredential } from './unread-credential.js';

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
