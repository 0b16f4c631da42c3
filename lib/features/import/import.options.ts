import { ApiKeyConfigurationError } from '../../api-key.errors.js';

/** The injection token of the resolved {@link ResolvedImportOptions}. */
export const API_KEY_IMPORT_OPTIONS = Symbol('nestjs-opaque-keys:import-options');

/**
 * How the source system stored a key:
 * - `sha256-hex`, `sha256-base64`, `sha256-base64url`: SHA-256 of the whole key in that encoding (a hand-rolled
 *   table, Unkey, Better Auth). Converted at import to the native hex SHA-256: no plaintext needed, and the key
 *   verifies with the one indexed lookup of a native key.
 * - `django`: a Django password-hasher string (djangorestframework-api-key: `sha512$$<hex>` of its current
 *   hasher, `pbkdf2_sha256$<iterations>$<salt>$<base64>` of its older `make_password`). Verified with that hash
 *   on first use, then upgraded to the native hash once.
 */
export type LegacyHashKind = 'sha256-hex' | 'sha256-base64' | 'sha256-base64url' | 'django';

/** The hash kinds the library can turn into its own hash at import, without the plaintext. */
export const SHA256_HASH_KINDS: readonly LegacyHashKind[] = ['sha256-hex', 'sha256-base64', 'sha256-base64url'];

/** One other system's key format, accepted for keys imported from it (and only for them). */
export interface LegacyKeyFormat {
  /** Its name, in reports, hints and the import table: lower-case letters, digits and `-`, e.g. `better-auth`. */
  name: string;
  /** What its keys start with (`ba_`); may be empty. */
  prefix: string;
  /** The characters after the prefix, as the body of a regular-expression class. Default `A-Za-z0-9`. */
  alphabet?: string;
  /** The whole key's length, or its bounds. Required unless `pattern` is given. */
  length?: number | { min: number; max: number };
  /**
   * The whole key, as a regular expression (anchored by the library), instead of `alphabet` and `length`. A
   * `django` format needs one whose first group is the public part its rows are found by (DRF: the prefix).
   */
  pattern?: RegExp;
  /** How the source stored its keys. */
  hash: LegacyHashKind;
  /** The environment its keys count as (one of the module's `environments`); default the first, or none. */
  environment?: string;
}

/** A format with its pattern compiled. */
export interface ResolvedLegacyFormat {
  readonly name: string;
  readonly hash: LegacyHashKind;
  readonly environment: string | undefined;
  /** The anchored pattern of the whole key; for `django`, group 1 is the public part. */
  readonly pattern: RegExp;
  /** The longest key it can match (keys are refused above it before the pattern runs). */
  readonly maxLength: number;
}

/** Options of `withImport(options)`. */
export interface ApiKeyImportOptions {
  /** The formats of the systems keys are imported from. Keys of these formats verify only if imported. */
  formats: LegacyKeyFormat[];
}

/** Import options with each format checked and compiled. */
export interface ResolvedImportOptions {
  readonly formats: readonly ResolvedLegacyFormat[];
}

/** Keys longer than this are never matched against a legacy format (the pattern never runs on them). */
export const MAX_LEGACY_KEY_LENGTH = 256;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** Checks and compiles one format. @throws ApiKeyConfigurationError naming the option */
function resolveFormat(format: LegacyKeyFormat, at: string): ResolvedLegacyFormat {
  if (typeof format !== 'object' || format === null)
    throw new ApiKeyConfigurationError(`${at} must be a format object`, at);
  if (typeof format.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(format.name))
    throw new ApiKeyConfigurationError(`${at}.name must be 1 to 32 lower-case letters, digits or -`, `${at}.name`);
  if (!['sha256-hex', 'sha256-base64', 'sha256-base64url', 'django'].includes(format.hash))
    throw new ApiKeyConfigurationError(
      `${at}.hash must be sha256-hex, sha256-base64, sha256-base64url or django`,
      `${at}.hash`,
    );
  if (typeof format.prefix !== 'string' || format.prefix.length > 32 || /[^\x21-\x7e]/.test(format.prefix))
    throw new ApiKeyConfigurationError(`${at}.prefix must be up to 32 printable ASCII characters`, `${at}.prefix`);
  let source: string;
  let maxLength = MAX_LEGACY_KEY_LENGTH;
  if (format.pattern !== undefined) {
    if (!(format.pattern instanceof RegExp))
      throw new ApiKeyConfigurationError(`${at}.pattern must be a RegExp`, `${at}.pattern`);
    source = format.pattern.source.replace(/^\^/, '').replace(/\$$/, '');
  } else {
    const bounds = typeof format.length === 'number' ? { min: format.length, max: format.length } : format.length;
    if (!bounds || !Number.isInteger(bounds.min) || !Number.isInteger(bounds.max) || bounds.min > bounds.max)
      throw new ApiKeyConfigurationError(`${at}.length must be an integer or { min, max }`, `${at}.length`);
    const min = bounds.min - format.prefix.length;
    if (min < 16 || bounds.max > MAX_LEGACY_KEY_LENGTH)
      throw new ApiKeyConfigurationError(
        `${at}.length must leave at least 16 characters after the prefix and be at most ${MAX_LEGACY_KEY_LENGTH}`,
        `${at}.length`,
      );
    const alphabet = format.alphabet ?? 'A-Za-z0-9';
    if (typeof alphabet !== 'string' || alphabet.length === 0 || /[\]\\^:]/.test(alphabet))
      throw new ApiKeyConfigurationError(
        `${at}.alphabet must be the body of a character class (no ], \\, ^ or :), e.g. A-Za-z0-9`,
        `${at}.alphabet`,
      );
    source = `${escape(format.prefix)}[${alphabet}]{${min},${bounds.max - format.prefix.length}}`;
    maxLength = bounds.max;
  }
  const pattern = new RegExp(`^(?:${source})$`);
  if (format.hash === 'django' && !/\((?!\?)/.test(source))
    throw new ApiKeyConfigurationError(
      `${at}.pattern of a django format needs a first group: the public part rows are found by`,
      `${at}.pattern`,
    );
  return { name: format.name, hash: format.hash, environment: format.environment, pattern, maxLength };
}

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveImportOptions(options: ApiKeyImportOptions): ResolvedImportOptions {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.formats))
    throw new ApiKeyConfigurationError('withImport() takes { formats: [...] }', 'import.formats');
  const formats = options.formats.map((format, index) => resolveFormat(format, `import.formats[${index}]`));
  const names = new Set<string>();
  formats.forEach((format, index) => {
    if (names.has(format.name))
      throw new ApiKeyConfigurationError(`import.formats lists ${format.name} twice`, `import.formats[${index}].name`);
    names.add(format.name);
  });
  return { formats };
}

/**
 * Better Auth's api-key plugin (`@better-auth/api-key`): `<prefix><64 letters a-zA-Z>` by default, stored as
 * the base64url SHA-256 of the whole key.
 */
export function betterAuthFormat(
  options: { prefix?: string; length?: number; environment?: string } = {},
): LegacyKeyFormat {
  const prefix = options.prefix ?? '';
  return {
    name: 'better-auth',
    prefix,
    alphabet: 'A-Za-z',
    length: prefix.length + (options.length ?? 64),
    hash: 'sha256-base64url',
    ...(options.environment ? { environment: options.environment } : {}),
  };
}

/**
 * djangorestframework-api-key: `<8-character prefix>.<secret>` (letters and digits; 32 characters by default), stored as a
 * Django hasher string (`sha512$$<hex>` since 2.0, `make_password`'s before), found by its prefix.
 */
export function drfFormat(options: { environment?: string } = {}): LegacyKeyFormat {
  return {
    name: 'drf',
    prefix: '',
    pattern: /([A-Za-z0-9]{8})\.[A-Za-z0-9]{32,64}/,
    hash: 'django',
    ...(options.environment ? { environment: options.environment } : {}),
  };
}
