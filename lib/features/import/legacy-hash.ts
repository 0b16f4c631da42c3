import { createHash, pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { hashApiKey } from '../../key/key-hash.js';
import type { LegacyHashKind, ResolvedLegacyFormat } from './import.options.js';

const pbkdf2Async = promisify(pbkdf2);

/** What no legacy key may start with: the lookup values are SHA-256 of strings in this namespace. */
export const LOOKUP_NAMESPACE = 'legacy:';

/** A presented key of one of the formats, and the public part a `django` format finds its row by. */
export interface LegacyKeyHit {
  readonly format: ResolvedLegacyFormat;
  readonly publicPart: string | undefined;
}

/** The first format `key` has (length checked before any pattern runs), or `null`. No I/O. */
export function matchLegacyFormat(formats: readonly ResolvedLegacyFormat[], key: string): LegacyKeyHit | null {
  if (key.startsWith(LOOKUP_NAMESPACE)) return null;
  for (const format of formats) {
    if (key.length > format.maxLength) continue;
    const match = format.pattern.exec(key);
    if (match) return { format, publicPart: format.hash === 'django' ? match[1] : undefined };
  }
  return null;
}

/**
 * The value a row of a source whose hash the library cannot compute is stored under in the `hash` column until
 * its first use: SHA-256 of `legacy:<format>:<public part>`, in a namespace no accepted key can enter.
 */
export function lookupValueOf(formatName: string, publicPart: string): string {
  return hashApiKey(`${LOOKUP_NAMESPACE}${formatName}:${publicPart}`);
}

/**
 * The native hash (hex SHA-256) of a key the source stored as SHA-256 in `kind`'s encoding, or `undefined`
 * when `stored` is not 32 bytes in that encoding.
 */
export function nativeHashOf(kind: LegacyHashKind, stored: unknown): string | undefined {
  if (typeof stored !== 'string') return undefined;
  let bytes: Buffer;
  if (kind === 'sha256-hex') {
    if (!/^[0-9a-fA-F]{64}$/.test(stored)) return undefined;
    bytes = Buffer.from(stored, 'hex');
  } else if (kind === 'sha256-base64') {
    if (!/^[A-Za-z0-9+/]{43}=?$/.test(stored)) return undefined;
    bytes = Buffer.from(stored, 'base64');
  } else if (kind === 'sha256-base64url') {
    if (!/^[A-Za-z0-9_-]{43}=?$/.test(stored)) return undefined;
    bytes = Buffer.from(stored, 'base64url');
  } else return undefined;
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

/** Django hasher strings the library verifies: djangorestframework-api-key's `sha512`, and PBKDF2. */
const DJANGO_HASH = /^(?:sha512\$\$[0-9a-f]{128}|pbkdf2_sha(?:256|1)\$\d{1,7}\$[^$]{1,128}\$[A-Za-z0-9+/=]{20,88})$/;

/** Whether `encoded` is a Django hasher string {@link verifyDjangoHash} can check. */
export function isSupportedDjangoHash(encoded: unknown): encoded is string {
  return typeof encoded === 'string' && DJANGO_HASH.test(encoded);
}

/**
 * Checks `key` against a Django hasher string, in constant time: `sha512$$<hex>` (djangorestframework-api-key's
 * `Sha512ApiKeyHasher`), `pbkdf2_sha256$<iterations>$<salt>$<base64>` (Django's default `make_password`, which
 * its versions before 2.0 used) or `pbkdf2_sha1`. Any other string is refused.
 */
export async function verifyDjangoHash(key: string, encoded: string): Promise<boolean> {
  if (!isSupportedDjangoHash(encoded)) return false;
  if (encoded.startsWith('sha512$$'))
    return equal(createHash('sha512').update(key).digest('hex'), encoded.slice('sha512$$'.length));
  const [algorithm, iterations, salt, expected] = encoded.split('$');
  const digest = algorithm === 'pbkdf2_sha1' ? 'sha1' : 'sha256';
  const length = Buffer.from(expected, 'base64').length;
  const derived = await pbkdf2Async(key, salt, Number(iterations), length, digest);
  return equal(derived.toString('base64'), expected);
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
