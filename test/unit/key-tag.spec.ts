import { describe, expect, it } from '@jest/globals';
import { generateApiKey, parseApiKey } from 'nestjs-opaque-keys';
import { ResolvedApiKeyOptions } from '../../lib/api-key.options.js';
import { bodyLengthFor, KEY_TAG_LENGTH, KeyTagger } from '../../lib/key/index.js';

const SECRET_1 = 'first tag secret, 32 bytes or more!';
const SECRET_2 = 'second tag secret, 32 bytes or more';
const RANDOM = bodyLengthFor(256);

function tagger(secrets: Record<string, string>, current: string, acceptUntagged?: boolean): KeyTagger {
  return new KeyTagger({ secrets, current, acceptUntagged }, RANDOM);
}

function tagged(t: KeyTagger, prefix = 'sk'): string {
  return generateApiKey({ prefix, tag: (head) => t.tag(head) });
}

describe('KeyTagger (keyed tag in the key body)', () => {
  it('appends one version character and seven MAC characters before the checksum', () => {
    const t = tagger({ '1': SECRET_1 }, '1');
    const key = tagged(t);
    const { prefix, body } = parseApiKey(key);
    expect(body).toHaveLength(RANDOM + KEY_TAG_LENGTH);
    expect(body[RANDOM]).toBe('1');
    expect(t.check(prefix, body)).toBe('tagged');
    expect(t.accepts(prefix, body)).toBe(true);
  });

  it('finds a forged key: a random body of the tagged length, a valid checksum, a wrong MAC', () => {
    const t = tagger({ '1': SECRET_1 }, '1');
    for (let i = 0; i < 200; i++) {
      const forged = generateApiKey({ prefix: 'sk', entropyBits: 303 });
      const { prefix, body } = parseApiKey(forged);
      expect(body).toHaveLength(RANDOM + KEY_TAG_LENGTH);
      expect(t.check(prefix, body)).toBe('forged');
    }
  });

  it('binds the tag to the prefix and to every body character', () => {
    const t = tagger({ '1': SECRET_1 }, '1');
    const { body } = parseApiKey(tagged(t, 'sk_live'));
    expect(t.check('sk_test', body)).toBe('forged');
    const changedAt3 = body.slice(0, 3) + (body[3] === 'a' ? 'b' : 'a') + body.slice(4);
    expect(t.check('sk_live', changedAt3)).toBe('forged');
  });

  it('accepts every listed version and tags new keys with the current one', () => {
    const old = tagger({ '1': SECRET_1 }, '1');
    const rotated = tagger({ '1': SECRET_1, '2': SECRET_2 }, '2');
    const before = parseApiKey(tagged(old));
    const after = parseApiKey(tagged(rotated));
    expect(after.body[RANDOM]).toBe('2');
    expect(rotated.check(before.prefix, before.body)).toBe('tagged');
    expect(rotated.check(after.prefix, after.body)).toBe('tagged');
    // Dropping version 1 stops accepting what it tagged; an unknown version is forged.
    expect(tagger({ '2': SECRET_2 }, '2').check(before.prefix, before.body)).toBe('forged');
    // Another secret under the same version character is forged too.
    expect(tagger({ '2': SECRET_1 }, '2').check(after.prefix, after.body)).toBe('forged');
  });

  it('treats other body lengths as untagged, accepted only while acceptUntagged is on', () => {
    const { prefix, body } = parseApiKey(generateApiKey({ prefix: 'sk' }));
    expect(tagger({ '1': SECRET_1 }, '1').check(prefix, body)).toBe('untagged');
    expect(tagger({ '1': SECRET_1 }, '1').accepts(prefix, body)).toBe(true);
    expect(tagger({ '1': SECRET_1 }, '1', false).accepts(prefix, body)).toBe(false);
  });

  it('gives a check value of the current secret: its version and 7 characters, never a tag of any key', () => {
    const one = tagger({ '1': SECRET_1, '2': SECRET_2 }, '2');
    expect(one.currentVersion).toBe('2');
    expect(one.checkValue()).toMatch(/^2[0-9A-Za-z]{7}$/);
    expect(tagger({ '2': SECRET_2 }, '2').checkValue()).toBe(one.checkValue()); // the current secret only
    expect(tagger({ '2': SECRET_1 }, '2').checkValue()).not.toBe(one.checkValue());
    expect(tagger({ '1': SECRET_2 }, '1').checkValue().slice(1)).not.toBe(one.checkValue().slice(1));
  });

  it('refuses bad configuration with a message naming the fix', () => {
    expect(() => tagger({ '1': 'short' }, '1')).toThrow(/at least 32 bytes/);
    expect(() => tagger({ '12': SECRET_1 }, '12')).toThrow(/one letter or digit/);
    expect(() => tagger({ '1': SECRET_1 }, '2')).toThrow(/keyTag.current/);
    expect(() => new KeyTagger(undefined as never, RANDOM)).toThrow(/keyTag must be/);
    // At boot, through the module options.
    expect(() => new ResolvedApiKeyOptions({ keyTag: { secrets: { '1': 'short' }, current: '1' } })).toThrow(
      /32 bytes/,
    );
  });

  it('keeps the secrets off the resolved module options', () => {
    const options = new ResolvedApiKeyOptions({ keyTag: { secrets: { '1': SECRET_1 }, current: '1' } });
    expect(options).not.toHaveProperty('keyTag');
    expect(JSON.stringify(options)).not.toContain(SECRET_1);
    expect(options.keyTagger?.acceptUntagged).toBe(true);
  });
});
