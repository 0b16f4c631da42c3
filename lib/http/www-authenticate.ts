/** RFC 6750 error codes used in `WWW-Authenticate` challenges. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

/**
 * Builds an RFC 6750 `WWW-Authenticate` value, e.g.
 * `Bearer realm="api", error="insufficient_scope", scope="orders:read"`.
 * With no error code it is the bare challenge for a request without credentials.
 */
export function bearerChallenge(realm: string, error?: BearerErrorCode, scope?: string): string {
  let value = `Bearer realm="${realm}"`;
  if (error) value += `, error="${error}"`;
  if (scope) value += `, scope="${scope}"`;
  return value;
}
