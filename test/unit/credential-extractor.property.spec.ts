import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  bearerToken,
  credentialHeaderLines,
  credentialHeaderNames,
  extractCredential,
  type CredentialSources,
  type ExtractedCredential,
} from '../../lib/http/index.js';

/**
 * The credential extractor on arbitrary header maps: it never throws, and it
 * agrees with a reference model of the documented tolerance. 10,000 runs per
 * property from a fixed seed.
 *
 * The tolerance chosen by lib/credential-extractor.ts (and checked here):
 * - the `Bearer` scheme is matched case-insensitively (RFC 9110 11.1): `bearer`, `BEARER` pass;
 * - spaces and tabs (only those: not NBSP, not other Unicode spaces) around the
 *   token, between scheme and token, and around an `X-API-Key` value are ignored;
 * - the token itself is returned as sent and judged by the key parser;
 * - a repeated header (an array value) holding two or more values is a conflict,
 *   and so are two different keys across the two sources.
 */
const RUNS = { numRuns: 10_000, seed: 42 } as const;

type HeaderValue = string | string[] | undefined;

// --- reference model, written without regular expressions ---

const isOws = (c: string) => c === ' ' || c === '\t';

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value[start])) start++;
  while (end > start && isOws(value[end - 1])) end--;
  return value.slice(start, end);
}

function referenceBearer(value: string): string | undefined {
  const trimmed = trimOws(value);
  if (trimmed.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  if (trimmed.length > 6 && !isOws(trimmed[6])) return undefined;
  return trimOws(trimmed.slice(6));
}

function referenceExtract(headers: Record<string, HeaderValue>, sources: CredentialSources): ExtractedCredential {
  const single = (v: HeaderValue) => (Array.isArray(v) ? (v.length === 0 ? undefined : v.length === 1 ? v[0] : v) : v);
  const found: string[] = [];
  if (sources.bearer) {
    const value = single(headers.authorization);
    if (Array.isArray(value)) return { kind: 'conflict' };
    const token = value === undefined ? undefined : referenceBearer(value);
    if (token !== undefined) found.push(token);
  }
  if (sources.header) {
    const value = single(headers[sources.header]);
    if (Array.isArray(value)) return { kind: 'conflict' };
    if (value !== undefined) found.push(trimOws(value));
  }
  if (found.length === 0) return { kind: 'none' };
  // The library compares the two keys in constant time over their UTF-8 bytes, so
  // strings that differ only in lone surrogates (both encoded as U+FFFD) count as
  // equal. Harmless: such strings are never well-formed keys.
  if (found.length === 2 && !Buffer.from(found[0]).equals(Buffer.from(found[1]))) return { kind: 'conflict' };
  return { kind: 'key', key: found[0] };
}

// --- arbitraries ---

const ows = fc.string({ unit: fc.constantFrom(' ', '\t'), maxLength: 4 });
const key = fc.constantFrom('sk_AAAA', 'sk_BBBB', '', 'k');
const nastyChar = fc.constantFrom(
  ' ',
  '\t',
  '\u00a0',
  '\u3000',
  '\r',
  '\n',
  '\0',
  ',',
  '"',
  'b',
  'B',
  'e',
  'r',
  'a',
  'sk_',
  '\ud800',
  '\udfff',
);
/** Values that look like what attackers and broken clients send. */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: nastyChar, maxLength: 30 }),
  fc
    .tuple(ows, fc.constantFrom('Bearer', 'bearer', 'BEARER', 'BeArEr', 'Basic', 'Bearerx', 'Token'), ows, key, ows)
    .map((parts) => parts.join('')),
  fc.tuple(ows, key, ows).map((parts) => parts.join('')),
);
const value: fc.Arbitrary<HeaderValue> = fc.oneof(
  { weight: 6, arbitrary: headerValue },
  { weight: 2, arbitrary: fc.array(headerValue, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const headerName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'authorization',
      'x-api-key',
      'x-other-key',
      'cookie',
      '__proto__',
      'constructor',
      'toString',
    ),
  },
  { weight: 1, arbitrary: fc.string() },
);
const headers = fc.dictionary(headerName, value, { maxKeys: 5, noNullPrototype: false });
const sources: fc.Arbitrary<CredentialSources> = fc
  .record({ bearer: fc.boolean(), header: fc.constantFrom<string | false>('x-api-key', 'x-other-key', false) })
  .filter((s) => s.bearer || s.header !== false);

describe('extractCredential (properties)', () => {
  it('never throws on arbitrary header maps, and always answers none, key or conflict', () => {
    fc.assert(
      fc.property(headers, sources, (map, from) => {
        const result = extractCredential(map, from);
        if (!['none', 'key', 'conflict'].includes(result.kind)) throw new Error(`unexpected ${JSON.stringify(result)}`);
        if (result.kind === 'key' && typeof result.key !== 'string') throw new Error('key is not a string');
      }),
      RUNS,
    );
  });

  it('agrees with the reference model of the documented tolerance', () => {
    fc.assert(
      fc.property(headers, sources, (map, from) => {
        const actual = extractCredential(map, from);
        const expected = referenceExtract(map, from);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          throw new Error(
            `${JSON.stringify({ map, from })}: got ${JSON.stringify(actual)}, reference ${JSON.stringify(expected)}`,
          );
        }
      }),
      RUNS,
    );
  });

  it('bearerToken agrees with the reference on arbitrary Authorization values', () => {
    fc.assert(
      fc.property(headerValue, (v) => {
        if (bearerToken(v) !== referenceBearer(v))
          throw new Error(`${JSON.stringify(v)}: ${bearerToken(v)} vs ${referenceBearer(v)}`);
      }),
      RUNS,
    );
  });

  it('only ever returns a key that was sent, trimmed of spaces and tabs', () => {
    fc.assert(
      fc.property(headers, sources, (map, from) => {
        const result = extractCredential(map, from);
        if (result.kind !== 'key') return;
        const sent = Object.values(map)
          .flat()
          .filter((v): v is string => typeof v === 'string');
        if (!sent.some((v) => v.includes(result.key))) throw new Error(`invented ${JSON.stringify(result.key)}`);
        if (result.key !== trimOws(result.key)) throw new Error(`untrimmed ${JSON.stringify(result.key)}`);
      }),
      RUNS,
    );
  });

  // Node accepts header lines up to 16 KB by default (more with --max-http-header-size):
  // trimming must stay linear in the value's length, or one request can hold the event loop.
  it('takes linear time on whitespace-heavy values (no regex backtracking)', () => {
    const n = 64 * 1024;
    const hostile = [
      `Bearer a${' '.repeat(n)}b`,
      `a${' \t'.repeat(n / 2)}b`,
      `${' '.repeat(n)}`,
      `Bearer${'\t'.repeat(n)}`,
    ];
    for (const v of hostile) {
      const started = performance.now();
      extractCredential({ authorization: v, 'x-api-key': v }, { bearer: true, header: 'x-api-key' });
      const ms = performance.now() - started;
      // Linear code does this in about 1 ms; the quadratic `[ \t]+$` took ~2.5 s at 64 KB.
      expect({ length: v.length, slow: ms > 200 }).toEqual({ length: v.length, slow: false });
    }
  });

  it('credentialHeaderLines picks the lines headersDistinct would hold for the credential headers, in order', () => {
    // Names as clients send them: any case of the two credential headers, and others around them.
    const name = fc.oneof(
      fc.constantFrom(
        'Authorization',
        'authorization',
        'AUTHORIZATION',
        'X-API-Key',
        'x-api-key',
        'X-Api-Key',
        'x-other-key',
        'Host',
        'Accept',
      ),
      fc.stringMatching(/^[A-Za-z-]{1,16}$/),
    );
    const rawHeaders = fc
      .array(fc.tuple(name, fc.string({ maxLength: 20 })), { maxLength: 12 })
      .map((pairs) => pairs.flat());
    fc.assert(
      fc.property(rawHeaders, sources, (raw, from) => {
        const names = credentialHeaderNames(from);
        // Reference: what Node's headersDistinct holds (lower-case name -> every value in order), cut to `names`.
        const expected: Record<string, string[]> = {};
        for (let i = 0; i < raw.length; i += 2) {
          const lower = raw[i].toLowerCase();
          if (names.includes(lower)) (expected[lower] ??= []).push(raw[i + 1]);
        }
        expect(credentialHeaderLines(raw, names)).toEqual(expected);
      }),
      RUNS,
    );
  });
});
