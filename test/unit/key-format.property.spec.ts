import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ApiKeyFormatError,
  apiKeyPattern,
  generateApiKey,
  parseApiKey,
  type ApiKeyFormatFailure,
} from 'nestjs-opaque-keys';
import { BASE62_ALPHABET } from '../../lib/key/index.js';
import { bodyLengthFor, checksumOf, MAX_KEY_LENGTH } from '../../lib/key/index.js';

/**
 * Property-based tests of the key format. Every property runs 10,000 times
 * from a fixed seed, so a failure is reproducible: fast-check prints the seed
 * and the shrunk counterexample.
 */
const RUNS = { numRuns: 10_000, seed: 42 } as const;

const REASONS: readonly ApiKeyFormatFailure[] = [
  'not_a_string',
  'too_long',
  'too_short',
  'invalid_characters',
  'missing_prefix',
  'wrong_prefix',
  'bad_checksum',
];

/**
 * Parses, and returns 'ok' or the failure reason; any other throwable, or a
 * success that does not describe the input exactly, fails the property.
 * (Plain checks rather than `expect`: this runs 20,000 times per property.)
 */
function outcome(input: unknown, prefix?: string): string {
  let parsed;
  try {
    parsed = parseApiKey(input, prefix);
  } catch (error) {
    if (!(error instanceof ApiKeyFormatError))
      throw new Error(`parseApiKey threw a non-format error: ${String(error)}`);
    if (!REASONS.includes(error.reason)) throw new Error(`unknown reason ${String(error.reason)}`);
    return error.reason;
  }
  if (`${parsed.prefix}_${parsed.body}${parsed.checksum}` !== input)
    throw new Error(`parsed parts do not rebuild ${String(input)}`);
  return 'ok';
}

/** Fails unless `actual` is `expected` (cheap, for hot property bodies). */
function check(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

// --- arbitraries -----------------------------------------------------------

const base62Char = fc.constantFrom(...BASE62_ALPHABET);
const prefixSegment = fc.string({ unit: base62Char, minLength: 1, maxLength: 8 });
/** A valid prefix: base62 segments joined by single underscores, at most 32 characters. */
const validPrefix = fc
  .array(prefixSegment, { minLength: 1, maxLength: 4 })
  .map((segments) => segments.join('_'))
  .filter((prefix) => prefix.length <= 32);
const entropyBits = fc.integer({ min: 128, max: 512 });

/** A well-formed key built from fast-check's own randomness (so it is reproducible from the seed). */
const validKey = fc.tuple(validPrefix, entropyBits).chain(([prefix, bits]) =>
  fc.string({ unit: base62Char, minLength: bodyLengthFor(bits), maxLength: bodyLengthFor(bits) }).map((body) => {
    const head = `${prefix}_${body}`;
    return { prefix, key: head + checksumOf(head) };
  }),
);

/** Characters that stress the parser: NUL, controls, `_`, base62, Latin-1, lone surrogates, astral. */
const hostileChar = fc.oneof(
  fc.constantFrom(
    '\0',
    '\t',
    '\n',
    '\r',
    ' ',
    '_',
    '-',
    '=',
    '\u00a0',
    '\u00e9',
    '\ud800',
    '\udfff',
    '\ufeff',
    '\u{1f511}',
    "'",
    '%',
  ),
  base62Char,
);

/** Arbitrary strings of every flavour, including ones very close to a valid key. */
const anyString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: hostileChar, maxLength: 140 }),
  fc.string({ unit: 'binary-ascii', minLength: 100, maxLength: 200 }),
  fc.string({ minLength: MAX_KEY_LENGTH - 2, maxLength: MAX_KEY_LENGTH + 2 }),
  fc.tuple(validKey, fc.string({ unit: hostileChar, maxLength: 3 }), fc.nat()).map(([{ key }, junk, at]) => {
    const i = at % (key.length + 1);
    return key.slice(0, i) + junk + key.slice(i);
  }),
);

/** Non-strings, including ones whose coercion would throw. */
const nonString = fc.oneof(
  fc
    .anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withNullPrototype: true,
    })
    .filter((value) => typeof value !== 'string'),
  fc.constantFrom<unknown>(
    Symbol('key'),
    () => 'sk_x',
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
      },
    ),
    {
      toString: () => {
        throw new Error('toString');
      },
    },
    Buffer.from('sk_abc'),
    new String('sk_abc'),
  ),
);

describe('parseApiKey (properties)', () => {
  it('throws nothing but ApiKeyFormatError on arbitrary strings (ASCII, full Unicode, NULs, near-keys)', () => {
    fc.assert(
      fc.property(anyString, fc.option(validPrefix, { nil: undefined }), (input, prefix) => {
        outcome(input, prefix);
      }),
      RUNS,
    );
  });

  it('throws nothing but ApiKeyFormatError on non-strings', () => {
    fc.assert(
      fc.property(nonString, (input) => {
        check(outcome(input), 'not_a_string', 'non-string');
      }),
      RUNS,
    );
  });

  it('rejects very long strings unread, whatever they contain', () => {
    const huge = fc
      .tuple(fc.string({ unit: hostileChar, minLength: 1, maxLength: 16 }), fc.integer({ min: 9, max: 4_000 }))
      .map(([chunk, times]) => chunk.repeat(times))
      .filter((s) => s.length > MAX_KEY_LENGTH);
    fc.assert(
      fc.property(huge, (input) => {
        check(outcome(input), 'too_long', 'long string');
      }),
      RUNS,
    );
    // And one of a megabyte, once.
    expect(outcome('sk_' + 'A'.repeat(1024 * 1024))).toBe('too_long');
  });

  it('accepts every well-formed key: any valid prefix, 128 to 512 bits (keys built from the seed)', () => {
    fc.assert(
      fc.property(validKey, ({ prefix, key }) => {
        check(outcome(key, prefix), 'ok', key);
        check(outcome(key), 'ok', key);
        check(parseApiKey(key).prefix, prefix, key);
      }),
      RUNS,
    );
  });

  it('parse(generateApiKey()) always succeeds for random valid prefixes and entropies 128..512', () => {
    fc.assert(
      fc.property(validPrefix, entropyBits, (prefix, bits) => {
        // The body comes from the CSPRNG, so the key is in the message for reproduction.
        const key = generateApiKey({ prefix, entropyBits: bits });
        const parsed = (() => {
          try {
            return parseApiKey(key, prefix);
          } catch (error) {
            throw new Error(`generated key ${key} did not parse: ${(error as Error).message}`);
          }
        })();
        check(parsed.prefix, prefix, key);
        check(parsed.body.length, bodyLengthFor(bits), key);
        check(key.length <= MAX_KEY_LENGTH, true, key);
        // Secret scanners built from apiKeyPattern() find exactly this key in text.
        check(` token=${key}; `.match(apiKeyPattern(prefix))?.join(' '), key, 'apiKeyPattern');
      }),
      RUNS,
    );
  });

  it('rejects another prefix', () => {
    fc.assert(
      fc.property(validKey, validPrefix, ({ prefix, key }, other) => {
        fc.pre(other !== prefix);
        check(outcome(key, other), 'wrong_prefix', key);
      }),
      RUNS,
    );
  });

  describe('any single-character change of a valid key is rejected', () => {
    // Any character at all, a character of the key's own alphabet, or `_`.
    const replacement = fc.oneof(
      base62Char,
      fc.constant('_'),
      hostileChar,
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );

    it('substitution', () => {
      fc.assert(
        fc.property(validKey, fc.nat(), replacement, ({ prefix, key }, at, c) => {
          const i = at % key.length;
          fc.pre(key[i] !== c);
          const mutated = key.slice(0, i) + c + key.slice(i + 1);
          check(
            outcome(mutated) !== 'ok' && outcome(mutated, prefix) !== 'ok',
            true,
            `accepted ${JSON.stringify(mutated)}`,
          );
        }),
        RUNS,
      );
    });

    it('insertion', () => {
      fc.assert(
        fc.property(validKey, fc.nat(), replacement, ({ prefix, key }, at, c) => {
          const i = at % (key.length + 1);
          const mutated = key.slice(0, i) + c + key.slice(i);
          check(
            outcome(mutated) !== 'ok' && outcome(mutated, prefix) !== 'ok',
            true,
            `accepted ${JSON.stringify(mutated)}`,
          );
        }),
        RUNS,
      );
    });

    it('deletion', () => {
      fc.assert(
        fc.property(validKey, fc.nat(), ({ prefix, key }, at) => {
          const i = at % key.length;
          const mutated = key.slice(0, i) + key.slice(i + 1);
          check(
            outcome(mutated) !== 'ok' && outcome(mutated, prefix) !== 'ok',
            true,
            `accepted ${JSON.stringify(mutated)}`,
          );
        }),
        RUNS,
      );
    });
  });
});
