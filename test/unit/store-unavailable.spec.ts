import { describe, expect, it } from '@jest/globals';
import { ApiKeyNotFoundError, ApiKeyStoreUnavailableError } from 'nestjs-opaque-keys';
import { asStoreUnavailable } from '../../lib/api-key.errors.js';

describe('asStoreUnavailable (the one mapping of driver failures)', () => {
  it('turns a driver error into ApiKeyStoreUnavailableError, keeping it as the cause', () => {
    const driver = new Error('ECONNREFUSED 127.0.0.1:5432');
    const mapped = asStoreUnavailable(driver);
    expect(mapped).toBeInstanceOf(ApiKeyStoreUnavailableError);
    expect(mapped.cause).toBe(driver);
    expect(mapped.message).not.toContain('ECONNREFUSED');
  });

  it("lets this library's own errors through unchanged", () => {
    const own = new ApiKeyNotFoundError('k1');
    expect(asStoreUnavailable(own)).toBe(own);
  });

  it('wraps what is not an Error at all', () => {
    expect(asStoreUnavailable('timeout')).toBeInstanceOf(ApiKeyStoreUnavailableError);
  });
});
