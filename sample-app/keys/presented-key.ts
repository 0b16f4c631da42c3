type Headers = Record<string, string | string[] | undefined>;

/**
 * The key a request presented, read as ApiKeyGuard reads it with the sample's
 * options: `Authorization: Bearer <key>` (scheme case-insensitive, spaces and
 * tabs around the key ignored), else `X-API-Key`. Call it only behind the
 * guard: the guard has already refused requests with no key or with two
 * different keys (400), so the one key found here is the key it authenticated.
 */
export function presentedKey(headers: Headers): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const bearer = /^[ \t]*bearer[ \t]+(.*?)[ \t]*$/i.exec(authorization);
    if (bearer) return bearer[1];
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' ? header.replace(/^[ \t]+|[ \t]+$/g, '') : undefined;
}
