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
