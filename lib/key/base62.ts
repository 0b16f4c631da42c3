import { randomBytes } from 'node:crypto';

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
