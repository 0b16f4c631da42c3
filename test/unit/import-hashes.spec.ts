import { describe, expect, it } from '@jest/globals';
import { lookupValueOf, nativeHashOf, verifyDjangoHash } from 'nestjs-opaque-keys/import';

// Vectors computed with Python's hashlib (what Django's hashers call), not with this library.
const KEY = 'AbCd1234.abcdefghijklmnopqrstuvwxyzABCDEF';
const SHA512 =
  'sha512$$0765ce122f72a01cbb897cf5d9935988527ce3917ce490fb1ea01f958ebb89076bfc9423552b641d75ab36368f2c0342c3d5c320078071b73e2827204adfff5e';
const PBKDF2_SHA256 = 'pbkdf2_sha256$1000$seasalt$pvCInFG0mFFcdX3W4XYV2fCCSo8xWSRnLLLhrzH9pCs=';
const PBKDF2_SHA1 = 'pbkdf2_sha1$1000$seasalt$z4QUK9HP2WWxBhCGM0kJaiXy1aw=';
const SHA256_HEX = '67a29b8b46dd1dd1e6c30ec86f1e3053d6824a1286ffbcf989db20bce65a28a1';

describe('legacy hashes', () => {
  it('converts SHA-256 in base64 (Unkey), base64url (Better Auth) and hex to the native hex', () => {
    expect(nativeHashOf('sha256-base64', 'Z6Kbi0bdHdHmww7Ibx4wU9aCShKG/7z5idsgvOZaKKE=')).toBe(SHA256_HEX);
    expect(nativeHashOf('sha256-base64url', 'Z6Kbi0bdHdHmww7Ibx4wU9aCShKG_7z5idsgvOZaKKE')).toBe(SHA256_HEX);
    expect(nativeHashOf('sha256-hex', SHA256_HEX.toUpperCase())).toBe(SHA256_HEX);
    // A vector of Unkey's own tests (internal/hash/src/sha256.test.ts): its keys are stored as padded base64.
    expect(nativeHashOf('sha256-base64', 'CptSN3vQ0shZLIsdT5c/tlpeFK/qqxY0R/aQNCfKhWs=')).toBe(
      '0a9b52377bd0d2c8592c8b1d4f973fb65a5e14afeaab163447f6903427ca856b',
    );
  });

  it('refuses a value of another encoding or length', () => {
    expect(nativeHashOf('sha256-base64url', 'Z6Kbi0bdHdHmww7Ibx4wU9aCShKG/7z5idsgvOZaKKE=')).toBeUndefined();
    expect(nativeHashOf('sha256-base64', 'Z6Kbi0bdHdHmww7Ibx4wU9aCShKG_7z5idsgvOZaKKE')).toBeUndefined();
    expect(nativeHashOf('sha256-hex', SHA256_HEX.slice(2))).toBeUndefined();
    expect(nativeHashOf('django', SHA256_HEX)).toBeUndefined();
    expect(nativeHashOf('sha256-hex', 42)).toBeUndefined();
  });

  it("verifies djangorestframework-api-key's sha512 and Django's PBKDF2 hashes, and only the right key", async () => {
    for (const encoded of [SHA512, PBKDF2_SHA256, PBKDF2_SHA1]) {
      await expect(verifyDjangoHash(KEY, encoded)).resolves.toBe(true);
      await expect(verifyDjangoHash(`${KEY.slice(0, -1)}G`, encoded)).resolves.toBe(false);
    }
    await expect(verifyDjangoHash(KEY, 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA')).resolves.toBe(false);
    await expect(verifyDjangoHash(KEY, 'md5$$x')).resolves.toBe(false);
  });

  it('derives lookup values in their own namespace, per format', () => {
    expect(lookupValueOf('drf', 'AbCd1234')).toMatch(/^[0-9a-f]{64}$/);
    expect(lookupValueOf('drf', 'AbCd1234')).not.toBe(lookupValueOf('other', 'AbCd1234'));
  });
});
