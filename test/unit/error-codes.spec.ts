import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import {
  API_KEY_ERROR_CODES,
  ApiKeyConfigurationError,
  ApiKeyError,
  ApiKeyStateError,
  type ApiKeyErrorCode,
} from 'nestjs-opaque-keys';
import { everyApiKeyError } from '../support/error-samples.js';

/** The rows of the "Error codes" table of docs/errors.md, cell by cell. */
function documentedRows(): string[][] {
  const page = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = page.split(/^## /m).find((part) => part.startsWith('Error codes'));
  if (!section) throw new Error('docs/errors.md has no "## Error codes" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `ERR_'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('error codes', () => {
  const errors = everyApiKeyError();
  const codes = Object.keys(API_KEY_ERROR_CODES) as ApiKeyErrorCode[];

  it('every error class and reason carries a code of the table, and every code is thrown by one', () => {
    for (const error of errors) {
      expect(error).toBeInstanceOf(ApiKeyError);
      expect({ error: error.name, known: codes.includes(error.code) }).toEqual({ error: error.name, known: true });
    }
    expect(errors.map((error) => error.code).sort()).toEqual([...codes].sort()); // each once, none missing
  });

  it('names, for each code, the class that throws it', () => {
    for (const error of errors) {
      expect({ code: error.code, errorClass: error.name }).toEqual({
        code: error.code,
        errorClass: API_KEY_ERROR_CODES[error.code].errorClass,
      });
    }
  });

  it('spells codes one way: ERR_API_KEY_ and capitals; a reason code is the stem, _, and the reason', () => {
    for (const code of codes) expect(code).toMatch(/^ERR_API_KEY_[A-Z]+(?:_[A-Z]+)*$/);
    for (const error of errors) {
      const reason = (error as { reason?: string }).reason;
      if (reason) expect(error.code).toMatch(new RegExp(`^ERR_API_KEY_[A-Z]+_${reason.toUpperCase()}$`));
    }
    expect(new ApiKeyStateError('id', 'revoked').code).toBe('ERR_API_KEY_STATE_REVOKED');
  });

  it('gives every code a 4xx or 5xx status, a title and a description', () => {
    for (const [code, entry] of Object.entries(API_KEY_ERROR_CODES)) {
      expect({ code, status: [400, 403, 404, 409, 500, 503].includes(entry.status) }).toEqual({ code, status: true });
      expect(entry.title.length).toBeGreaterThan(0);
      expect(entry.description).not.toContain('|'); // it is a cell of docs/errors.md's table
    }
  });

  it('is documented in docs/errors.md, row for row', () => {
    const expected = Object.entries(API_KEY_ERROR_CODES).map(([code, entry]) => [
      `\`${code}\``,
      String(entry.status),
      `\`${entry.errorClass}\``,
      entry.title,
      entry.description,
    ]);
    expect(documentedRows()).toEqual(expected);
  });

  it('keeps the option path of a configuration error, and none for a setup problem', () => {
    expect(new ApiKeyConfigurationError('cache.ttlMs must be a positive number of ms', 'cache.ttlMs')).toMatchObject({
      code: 'ERR_API_KEY_CONFIGURATION',
      option: 'cache.ttlMs',
    });
    const cause = new Error('no such table');
    const setup = new ApiKeyConfigurationError('run the migrations', { cause });
    expect({ option: setup.option, cause: setup.cause }).toEqual({ option: undefined, cause });
  });
});
