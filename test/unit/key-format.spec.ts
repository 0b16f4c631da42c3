import { describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import {
  ApiKeyConfigurationError,
  ApiKeyFormatError,
  apiKeyPattern,
  generateApiKey,
  parseApiKey,
} from 'nestjs-opaque-keys';
import { BASE62_ALPHABET, encodeBase62, randomBase62 } from '../../lib/key/index.js';
import { bodyLengthFor, checksumOf, environmentOf, hintOf, MAX_KEY_LENGTH } from '../../lib/key/index.js';

function reasonOf(input: unknown, prefix?: string): string {
  try {
    parseApiKey(input, prefix);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiKeyFormatError);
    return (error as ApiKeyFormatError).reason;
  }
  return 'ok';
}

describe('generateApiKey', () => {
  it('builds prefix_ + 43 base62 chars (256 bits) + 6-char checksum by default', () => {
    const key = generateApiKey({ prefix: 'sk' });
    expect(key).toMatch(/^sk_[0-9A-Za-z]{49}$/);
    expect(key.length).toBe(3 + 43 + 6);
  });

  it('sizes the body from the entropy and refuses less than 128 bits', () => {
    expect(bodyLengthFor(128)).toBe(22);
    expect(bodyLengthFor(256)).toBe(43);
    expect(generateApiKey({ prefix: 'sk', entropyBits: 128 }).length).toBe(3 + 22 + 6);
    expect(() => generateApiKey({ prefix: 'sk', entropyBits: 127 })).toThrow(ApiKeyConfigurationError);
    expect(() => generateApiKey({ prefix: 'sk', entropyBits: 1.5e2 + 0.5 })).toThrow(ApiKeyConfigurationError);
  });

  it('accepts prefixes with inner underscores and rejects bad prefixes', () => {
    const key = generateApiKey({ prefix: 'acme_live' });
    expect(parseApiKey(key, 'acme_live').prefix).toBe('acme_live');
    for (const bad of ['', '_sk', 'sk_', 'a__b', 'sk-live', 'clé', 'x'.repeat(33)]) {
      expect(() => generateApiKey({ prefix: bad })).toThrow(ApiKeyConfigurationError);
    }
  });

  it('never repeats and uses the whole alphabet (1,000 keys)', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey({ prefix: 'sk' })));
    expect(keys.size).toBe(1000);
    const seen = new Set([...keys].join('').replace(/sk_/g, ''));
    expect(seen.size).toBe(62);
  });
});

describe('randomBase62', () => {
  it('is roughly uniform over the alphabet (chi-square, 62,000 draws)', () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const chi = [...BASE62_ALPHABET].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - 1000) ** 2 / 1000, 0);
    // 61 degrees of freedom: p = 0.0001 at about 111.
    expect(chi).toBeLessThan(111);
  });

  it('encodes integers in base62 with padding', () => {
    expect(encodeBase62(0, 6)).toBe('000000');
    expect(encodeBase62(61, 1)).toBe('z');
    expect(encodeBase62(62, 1)).toBe('10');
    expect(encodeBase62(2 ** 32 - 1, 6)).toBe('4gfFC3');
  });
});

describe('parseApiKey', () => {
  const key = generateApiKey({ prefix: 'sk' });

  it('round-trips a generated key and verifies the CRC32', () => {
    const parsed = parseApiKey(key, 'sk');
    expect(parsed.prefix + '_' + parsed.body + parsed.checksum).toBe(key);
    expect(parsed.checksum).toBe(encodeBase62(crc32(`sk_${parsed.body}`), 6));
    expect(checksumOf(`sk_${parsed.body}`)).toBe(parsed.checksum);
    expect(hintOf(parsed)).toBe(key.slice(0, 7));
  });

  it('names the reason for every malformed input', () => {
    expect(reasonOf(42)).toBe('not_a_string');
    expect(reasonOf(undefined)).toBe('not_a_string');
    expect(reasonOf('x'.repeat(MAX_KEY_LENGTH + 1))).toBe('too_long');
    expect(reasonOf('nounderscoreatall')).toBe('missing_prefix');
    expect(reasonOf(key.replace('sk_', 'sk_é'))).toBe('invalid_characters');
    expect(reasonOf(`${key}\u0000`)).toBe('invalid_characters');
    expect(reasonOf(` ${key}`)).toBe('invalid_characters');
    expect(reasonOf('sk_abc')).toBe('too_short');
    expect(reasonOf(key, 'pk')).toBe('wrong_prefix');
    const flipped = key.slice(0, 10) + (key[10] === 'a' ? 'b' : 'a') + key.slice(11);
    expect(reasonOf(flipped, 'sk')).toBe('bad_checksum');
    expect(reasonOf(key, 'sk')).toBe('ok');
  });

  it('rejects every single-character substitution of a valid key', () => {
    for (let i = 0; i < key.length; i++) {
      for (const c of ['0', 'Z', 'z', '_']) {
        if (key[i] === c) continue;
        const mutated = key.slice(0, i) + c + key.slice(i + 1);
        expect(reasonOf(mutated, 'sk')).not.toBe('ok');
      }
    }
  });

  it('uses the last underscore to split the prefix', () => {
    const live = generateApiKey({ prefix: 'acme_live' });
    expect(parseApiKey(live).prefix).toBe('acme_live');
    expect(reasonOf(live, 'acme')).toBe('wrong_prefix');
  });
});

describe('apiKeyPattern', () => {
  it('finds keys of the prefix in text and nothing else', () => {
    const a = generateApiKey({ prefix: 'sk' });
    const b = generateApiKey({ prefix: 'sk', entropyBits: 128 });
    const text = `token=${a}\nother: pk_${'A'.repeat(40)} and "${b}" end sk_short`;
    expect(text.match(apiKeyPattern('sk'))).toEqual([a, b]);
  });
});

describe('environmentOf', () => {
  const prefixes = new Map<string, string | null>([
    ['sk_live', 'live'],
    ['sk_test', 'test'],
  ]);

  it('names the environment of a well-formed key of ours', () => {
    expect(environmentOf(generateApiKey({ prefix: 'sk_live' }), prefixes)).toBe('live');
    expect(environmentOf(generateApiKey({ prefix: 'sk_test' }), prefixes)).toBe('test');
    expect(environmentOf(generateApiKey({ prefix: 'sk' }), new Map([['sk', null]]))).toBeNull();
  });

  it('answers undefined, without throwing, for another prefix, a bad checksum or a non-key', () => {
    const key = generateApiKey({ prefix: 'sk_live' });
    const flipped = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    for (const presented of [
      generateApiKey({ prefix: 'pk_live' }),
      generateApiKey({ prefix: 'sk' }),
      flipped,
      '',
      42,
      null,
    ])
      expect(environmentOf(presented, prefixes)).toBeUndefined();
  });
});
