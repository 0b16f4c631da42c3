import { crc32 } from 'node:zlib';
import { ApiKeyConfigurationError, ApiKeyFormatError } from '../api-key.errors.js';
import { MIN_ENTROPY_BITS, validateEntropyBits } from '../policies/api-key.input.js';
import { randomBytes } from 'node:crypto';

export { MIN_ENTROPY_BITS } from '../policies/api-key.input.js';

// Base62: the alphabet of key bodies and checksums.

/** The base62 alphabet: digits, upper case, lower case. `_` is never part of it. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Bits of entropy carried by one uniformly drawn base62 character. */
export const BITS_PER_BASE62_CHAR = Math.log2(62);

// 248 = 4 * 62: bytes at or above it are rejected so every character is uniform.
const REJECT_FROM = 248;

/**
 * Draws `length` base62 characters uniformly from the CSPRNG, by rejection
 * sampling (no modulo bias).
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    const bytes = randomBytes(Math.ceil((length - out.length) * 1.1) + 4);
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i];
      if (b < REJECT_FROM) out += BASE62_ALPHABET[b % 62];
    }
  }
  return out;
}

/** Encodes a non-negative integer below 2^53 as base62, left-padded with `0` to `width`. */
export function encodeBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  do {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  return out.padStart(width, '0');
}

// The key format.

/** Length of the base62 CRC32 checksum at the end of every key (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6;
/** The default entropy of a key body: 256 bits, 43 base62 characters. */
export const DEFAULT_ENTROPY_BITS = 256;
/** The longest prefix accepted (letters, digits, single inner underscores). */
export const MAX_PREFIX_LENGTH = 32;
/** The longest string `parseApiKey` will look at; anything longer is rejected unread. */
export const MAX_KEY_LENGTH = 128;

const PREFIX_PATTERN = /^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$/;
const KEY_PATTERN = /^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*_[0-9A-Za-z]+$/;
const MIN_BODY_LENGTH = Math.ceil(MIN_ENTROPY_BITS / BITS_PER_BASE62_CHAR);

/** The three parts of a well-formed key. */
export interface ParsedApiKey {
  /** The prefix without the trailing underscore, e.g. `sk` or `acme_live`. */
  readonly prefix: string;
  /** The random base62 body. */
  readonly body: string;
  /** The 6-character base62 CRC32 of `prefix_body`. */
  readonly checksum: string;
}

/** Options of {@link generateApiKey}. */
export interface GenerateApiKeyOptions {
  /** Prefix before the `_`; letters and digits, inner underscores allowed. */
  prefix: string;
  /** Entropy of the body in bits; at least 128. Default 256. */
  entropyBits?: number;
  /** Appends a keyed tag to `<prefix>_<random>` before the checksum (the `keyTag` option's tagger). */
  tag?: (head: string) => string;
}

/** Number of base62 characters needed to carry `bits` bits of entropy. */
export function bodyLengthFor(bits: number): number {
  return Math.ceil(bits / BITS_PER_BASE62_CHAR);
}

/** The base62 CRC32 checksum of `prefix_body`. */
export function checksumOf(prefixAndBody: string): string {
  return encodeBase62(crc32(prefixAndBody), CHECKSUM_LENGTH);
}

/**
 * Refuses a prefix that could never round-trip through {@link parseApiKey}: a
 * configuration mistake, so an {@link ApiKeyConfigurationError} naming `option`.
 */
export function assertValidPrefix(prefix: string, option: string = 'prefix'): void {
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX_LENGTH || !PREFIX_PATTERN.test(prefix)) {
    throw new ApiKeyConfigurationError(
      `API key prefix must be 1-${MAX_PREFIX_LENGTH} letters or digits, optionally joined by single underscores; got ${JSON.stringify(prefix)}`,
      option,
    );
  }
}

/**
 * Generates a new key: `<prefix>_<base62 body><base62 CRC32>`.
 * @throws ApiKeyConfigurationError for a bad `prefix` or `entropyBits` (`option` names it)
 * @example
 * generateApiKey({ prefix: 'sk' }); // 'sk_3kTMd...Q0x1Zb' (52 chars)
 */
export function generateApiKey(options: GenerateApiKeyOptions): string {
  assertValidPrefix(options.prefix);
  const bits = validateEntropyBits(options.entropyBits ?? DEFAULT_ENTROPY_BITS);
  const random = `${options.prefix}_${randomBase62(bodyLengthFor(bits))}`;
  const head = options.tag ? random + options.tag(random) : random;
  if (head.length + CHECKSUM_LENGTH > MAX_KEY_LENGTH) {
    throw new ApiKeyConfigurationError(
      `prefix and entropyBits give keys longer than ${MAX_KEY_LENGTH} characters`,
      'entropyBits',
    );
  }
  return head + checksumOf(head);
}

/** The value of a base62 character code (the key pattern already admitted only base62 characters). */
function base62Digit(code: number): number {
  if (code <= 57) return code - 48; // 0-9
  if (code <= 90) return code - 55; // A-Z
  return code - 61; // a-z
}

/**
 * Whether the last {@link CHECKSUM_LENGTH} characters of `input` are the base62
 * CRC32 of the rest: the checksum decoded and compared as a number, which is
 * the same test as comparing it with {@link checksumOf} (a fixed-width base62
 * encoding is one-to-one), with no string built.
 */
function checksumHolds(input: string): boolean {
  const head = input.length - CHECKSUM_LENGTH;
  let value = 0;
  for (let i = head; i < input.length; i++) value = value * 62 + base62Digit(input.charCodeAt(i));
  return value === crc32(input.slice(0, head));
}

/**
 * The prefix of a presented key, once its form, length and checksum hold (and
 * it is `expectedPrefix`, when given): what {@link parseApiKey} checks, without
 * building its parts.
 * @throws ApiKeyFormatError
 */
function checkedPrefix(input: unknown, expectedPrefix?: string): string {
  if (typeof input !== 'string') throw new ApiKeyFormatError('not_a_string');
  if (input.length > MAX_KEY_LENGTH) throw new ApiKeyFormatError('too_long');
  if (!KEY_PATTERN.test(input)) {
    throw new ApiKeyFormatError(input.includes('_') ? 'invalid_characters' : 'missing_prefix');
  }
  const split = input.lastIndexOf('_');
  if (split > MAX_PREFIX_LENGTH) throw new ApiKeyFormatError('missing_prefix');
  if (input.length - split - 1 < MIN_BODY_LENGTH + CHECKSUM_LENGTH) throw new ApiKeyFormatError('too_short');
  const prefix = input.slice(0, split);
  if (expectedPrefix !== undefined && prefix !== expectedPrefix) throw new ApiKeyFormatError('wrong_prefix');
  if (!checksumHolds(input)) throw new ApiKeyFormatError('bad_checksum');
  return prefix;
}

/**
 * Parses and checks a presented key with no I/O. Rejects anything that is not
 * a string, longer than {@link MAX_KEY_LENGTH}, not ASCII base62 around `_`,
 * shorter than 128 bits of body, of another prefix (when `expectedPrefix` is
 * given) or with a wrong checksum.
 * @throws ApiKeyFormatError
 */
export function parseApiKey(input: unknown, expectedPrefix?: string): ParsedApiKey {
  const prefix = checkedPrefix(input, expectedPrefix);
  const tail = (input as string).slice(prefix.length + 1);
  return { prefix, body: tail.slice(0, -CHECKSUM_LENGTH), checksum: tail.slice(-CHECKSUM_LENGTH) };
}

/**
 * Whether a presented key is one of ours, and of which environment: the
 * environment its prefix maps to in `prefixes` (`null` for a prefix without
 * one), or `undefined` when the key is malformed, fails its checksum or
 * carries another prefix. No I/O; the one place that answers "is this our key?".
 * @example
 * environmentOf(presented, new Map([['sk_live', 'live'], ['sk_test', 'test']])); // 'live', 'test' or undefined
 */
export function environmentOf(key: unknown, prefixes: ReadonlyMap<string, string | null>): string | null | undefined {
  const presented = judgePresentedKey(key, prefixes);
  return presented.ours ? presented.environment : undefined;
}

/** What a presented key is to a setup: one of its keys (and the environment), or why not. */
export type PresentedKey =
  | { readonly ours: true; readonly environment: string | null }
  | { readonly ours: false; readonly reason: 'malformed' | 'prefix' };

/**
 * Whether a presented key is well-formed (format, checksum) and carries one of
 * `prefixes`, with no I/O: the one place that decides it, so the guard, the
 * service and the remote verifier agree. {@link environmentOf} is its short form.
 */
export function judgePresentedKey(key: unknown, prefixes: ReadonlyMap<string, string | null>): PresentedKey {
  let prefix: string;
  try {
    prefix = checkedPrefix(key);
  } catch (error) {
    if (error instanceof ApiKeyFormatError) return MALFORMED_KEY;
    throw error;
  }
  const environment = prefixes.get(prefix);
  if (environment === undefined) return FOREIGN_KEY;
  return environment === null ? OURS_WITHOUT_ENVIRONMENT : { ours: true, environment };
}

const MALFORMED_KEY: PresentedKey = Object.freeze({ ours: false, reason: 'malformed' });
const FOREIGN_KEY: PresentedKey = Object.freeze({ ours: false, reason: 'prefix' });
const OURS_WITHOUT_ENVIRONMENT: PresentedKey = Object.freeze({ ours: true, environment: null });

/**
 * A regular expression that finds keys with the given prefix in text, for
 * secret scanners (GitHub secret scanning, gitleaks, trufflehog). Candidates
 * still need {@link parseApiKey} to confirm the checksum.
 */
export function apiKeyPattern(prefix: string, flags = 'g'): RegExp {
  assertValidPrefix(prefix);
  return new RegExp(`\\b${prefix}_[0-9A-Za-z]{${MIN_BODY_LENGTH + CHECKSUM_LENGTH},${MAX_KEY_LENGTH}}\\b`, flags);
}

/** The display hint stored beside the hash: prefix plus the first 4 body characters. */
export function hintOf(parsed: ParsedApiKey): string {
  return `${parsed.prefix}_${parsed.body.slice(0, 4)}`;
}
