import { describe, expect, it } from '@jest/globals';
import { lineMismatch, outputMismatch, shownStatuses, withoutNote } from '../support/docs/doc-output.js';

describe('executed docs: output a page shows against output a command printed', () => {
  it('compares JSON lines by the fields shown, ignoring fields not shown', () => {
    expect(lineMismatch('{"status":"ok"}', '{"status":"ok","uptime":3}')).toBeUndefined();
    expect(lineMismatch('{"status":"ok"}', '{"status":"down"}')).toMatch(/\$\.status: expected "ok", got "down"/);
    expect(lineMismatch('{"status":"ok","db":true}', '{"status":"ok"}')).toMatch(/\$\.db is missing/);
    expect(lineMismatch('{"a":{"b":1}}', '{"a":{"b":"1"}}')).toMatch(/\$\.a\.b/);
    expect(lineMismatch('{"a":1}', 'not json')).toMatch(/expected JSON/);
    expect(lineMismatch('{"a":null}', '{"a":0}')).toBeDefined();
  });

  it('holds arrays to the elements shown, in order, and no more', () => {
    expect(
      lineMismatch('[{"item":"anvil"},{"item":"skates"}]', '[{"item":"anvil"},{"item":"skates"}]'),
    ).toBeUndefined();
    expect(lineMismatch('[{"item":"anvil"}]', '[{"item":"anvil"},{"item":"book"}]')).toMatch(/1 element\(s\), got 2/);
    expect(lineMismatch('[{"item":"anvil"},{"item":"skates"}]', '[{"item":"skates"},{"item":"anvil"}]')).toMatch(
      /\$\[0\]\.item/,
    );
  });

  it('takes <placeholders> for values that change: bare in JSON, inside strings, and in text', () => {
    expect(lineMismatch('{"id":"<id>","exp":<exp>}', '{"id":"9f0c","exp":1803275648}')).toBeUndefined();
    expect(lineMismatch('{"exp":<exp>}', '{}')).toMatch(/\$\.exp is missing/);
    expect(
      lineMismatch('{"message":"API key <id> was revoked"}', '{"message":"API key 12 was revoked"}'),
    ).toBeUndefined();
    expect(lineMismatch('{"message":"API key <id> was revoked"}', '{"message":"API key 12 was kept"}')).toBeDefined();
    expect(lineMismatch('{"hint":"<hint>"}', '{"hint":""}')).toBeDefined(); // at least one character
    expect(lineMismatch('sk_test_<hint>... sk_live_<hint>...', 'sk_test_AiC1... sk_live_92UG...')).toBeUndefined();
    expect(lineMismatch('sk_test_<hint>...', 'sk_live_AiC1...')).toBeDefined();
    expect(lineMismatch('Retry-After: <seconds>', 'Retry-After: 59')).toBeUndefined();
    // Regular expression characters in the shown text are literal.
    expect(lineMismatch('RateLimit-Policy: 600;w=60', 'RateLimit-Policy: 600;w=600')).toBeDefined();
    expect(lineMismatch('a.b', 'axb')).toBeDefined();
  });

  it('drops a trailing note in parentheses after two spaces, and nothing else', () => {
    expect(withoutNote('200   (grace period)')).toBe('200');
    expect(withoutNote('{"a":1}   (and the rest of the record)')).toBe('{"a":1}');
    expect(withoutNote('HTTP/1.1 200 OK (x)')).toBe('HTTP/1.1 200 OK (x)');
    expect(outputMismatch(['401   (the family is dead)'], '401\n')).toBeUndefined();
    expect(outputMismatch(['401   (the family is dead)'], '200\n')).toMatch(/expected 401/);
  });

  it('compares whole outputs line by line: CRLF, trailing spaces and trailing blank lines aside', () => {
    expect(outputMismatch(['HTTP/1.1 401 Unauthorized', 'X: 1'], 'HTTP/1.1 401 Unauthorized\r\nX: 1  \r\n\n')).toBe(
      undefined,
    );
    expect(outputMismatch(['a'], 'a\nb')).toMatch(/unexpected output from line 2: b/);
    expect(outputMismatch(['a', 'b'], 'a')).toMatch(/missing output: b/);
    expect(outputMismatch([], '')).toBeUndefined();
    expect(outputMismatch([], 'something')).toMatch(/unexpected output/);
  });

  it('reads past terminal styling a tool prints into a pipe, and still compares the text', () => {
    expect(outputMismatch(['No migrations are pending'], '\x1b[4mNo migrations are pending\x1b[24m\n')).toBeUndefined();
    expect(outputMismatch(['No migrations are pending'], '\x1b[4mMigrations are pending\x1b[24m')).toMatch(/expected/);
  });

  it('lets a "..." line stand for any number of lines', () => {
    const banner = ['  Key:', '    sk_live_<key>', '...', '  It expires on <date>.'];
    expect(
      outputMismatch(banner, '  Key:\n    sk_live_abc\n\n  Try it\n\n  It expires on 2027-01-01.'),
    ).toBeUndefined();
    expect(outputMismatch(banner, '  Key:\n    sk_live_abc\n  It expires on 2027-01-01.')).toBeUndefined();
    expect(outputMismatch(banner, '  Key:\n    sk_live_abc\n  Try it')).toBeDefined();
  });

  it('reads the HTTP statuses an output shows', () => {
    expect([...shownStatuses(['HTTP/1.1 429 Too Many Requests', 'Retry-After: 60'])]).toEqual([429]);
    expect([...shownStatuses(['{"statusCode":400,"message":"x"}'])]).toEqual([400]);
    expect([...shownStatuses(['401   (dead)', '200'])]).toEqual([401, 200]);
    expect([...shownStatuses(['{"total":403}', 'RateLimit-Remaining: 401'])]).toEqual([]);
  });
});
