import * as crypto from 'node:crypto';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { constantTimeEqual } from './key-hash.js';
import { ApiKeyConfigurationError } from '../api-key.errors.js';
import { BASE62_ALPHABET, CHECKSUM_LENGTH, encodeBase62 } from './key-format.js';

/** Characters the keyed tag adds at the end of a key's body: one version character and seven of HMAC. */
export const KEY_TAG_LENGTH = 8;
/** The shortest tag secret accepted, in bytes. */
export const MIN_KEY_TAG_SECRET_BYTES = 32;

const MAC_LENGTH = KEY_TAG_LENGTH - 1;
// 62^7 is about 2^41.7: a forged key passes with odds of 1 in 3.5 * 10^12.
const MAC_MODULUS = 62 ** MAC_LENGTH;
// The text of the check value: its spaces keep it from ever being the head of a key, so it is never a tag.
const CHECK_VALUE_TEXT = 'nestjs-opaque-keys tag check ';

type OneShotDigest = (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer;
// `crypto.hash` (Node 20.12+, 21.7+): HMAC-SHA-256 as two one-shot digests, with no Hmac object per check.
const oneShot = (crypto as { hash?: OneShotDigest }).hash;
/** SHA-256's block size: HMAC pads (or first hashes) its key to it. */
const BLOCK = 64;

/**
 * HMAC-SHA-256 (RFC 2104) under one key, computed as `H(K ^ opad || H(K ^ ipad || data))`
 * with one-shot digests into two buffers made once: the same MAC as `createHmac`.
 */
class OneShotHmac {
  private readonly inner: Buffer;
  private readonly outer = Buffer.alloc(BLOCK + 32);

  constructor(
    key: KeyObject,
    private readonly digest: OneShotDigest,
  ) {
    let bytes: Buffer = key.export();
    if (bytes.length > BLOCK) bytes = digest('sha256', bytes, 'buffer');
    this.inner = Buffer.alloc(BLOCK + 3 * 128);
    for (let i = 0; i < BLOCK; i++) {
      this.inner[i] = (bytes[i] ?? 0) ^ 0x36;
      this.outer[i] = (bytes[i] ?? 0) ^ 0x5c;
    }
  }

  /** The MAC of `data` (UTF-8); `undefined` for data longer than the buffer made for keys. */
  mac(data: string): Buffer | undefined {
    if (data.length > 128) return undefined;
    const length = this.inner.write(data, BLOCK, 'utf8');
    this.digest('sha256', this.inner.subarray(0, BLOCK + length), 'buffer').copy(this.outer, BLOCK);
    return this.digest('sha256', this.outer, 'buffer');
  }
}

/**
 * The optional keyed tag (module option `keyTag`): a few characters of
 * HMAC-SHA-256 under a server secret inside every new key, so keys that were
 * not issued here are refused before any database access.
 * @example
 * ApiKeyModule.forRoot({
 *   keyTag: { secrets: { '1': process.env.KEY_TAG_SECRET_1! }, current: '1' },
 * })
 */
export interface KeyTagOptions {
  /**
   * Secrets by version: one base62 character each (`'1'`, `'2'`, ...), at least
   * 32 bytes each (a string is taken as UTF-8). Every listed version is
   * accepted; remove one to stop accepting the tags it made.
   */
  secrets: Readonly<Record<string, string | Buffer | KeyObject>>;
  /** The version new keys are tagged with. */
  current: string;
  /**
   * Whether keys without a tag (issued before the tag was turned on) still go
   * to the database. Default `true`; set `false` once every such key has been
   * rotated, and every forged key is then refused with no I/O.
   */
  acceptUntagged?: boolean;
}

/** What {@link KeyTagger.check} finds in a key's body. */
export type KeyTagVerdict = 'tagged' | 'untagged' | 'forged';

/**
 * Makes and checks keyed tags. Pure: no I/O, no Nest. A tagged body is the
 * random part (of the configured length) followed by the version character and
 * the MAC of `<prefix>_<random><version>`; any other body length is untagged.
 * A stolen secret forges nothing: the database still decides; it only lets
 * forged keys reach the database again, as without a tag.
 */
export class KeyTagger {
  /** Whether untagged keys still go to the database. */
  readonly acceptUntagged: boolean;
  private readonly keys = new Map<string, KeyObject>();
  /** One-shot HMACs of the keys, when `crypto.hash` exists. */
  private readonly hmacs = new Map<KeyObject, OneShotHmac>();
  private readonly current: string;

  /**
   * @param randomLength the length of the random part of a tagged body (the
   *   module's `entropyBits` in base62 characters)
   * @throws ApiKeyConfigurationError naming the bad part of the `keyTag` option
   */
  constructor(
    options: KeyTagOptions,
    private readonly randomLength: number,
  ) {
    if (typeof options !== 'object' || options === null || typeof options.secrets !== 'object') {
      throw new ApiKeyConfigurationError(
        "keyTag must be { secrets: { '1': '<32+ byte secret>' }, current: '1' }",
        'keyTag',
      );
    }
    for (const [version, secret] of Object.entries(options.secrets)) {
      if (version.length !== 1 || !BASE62_ALPHABET.includes(version)) {
        throw new ApiKeyConfigurationError(
          `keyTag secret versions are one letter or digit; got ${JSON.stringify(version)}`,
          secretOption(version),
        );
      }
      this.keys.set(version, toKeyObject(secret, version));
    }
    if (!this.keys.has(options.current)) {
      throw new ApiKeyConfigurationError(
        `keyTag.current (${JSON.stringify(options.current)}) must be one of the keyTag.secrets versions`,
        'keyTag.current',
      );
    }
    if (options.acceptUntagged !== undefined && typeof options.acceptUntagged !== 'boolean') {
      throw new ApiKeyConfigurationError('keyTag.acceptUntagged must be a boolean', 'keyTag.acceptUntagged');
    }
    if (oneShot) for (const key of this.keys.values()) this.hmacs.set(key, new OneShotHmac(key, oneShot));
    this.current = options.current;
    this.acceptUntagged = options.acceptUntagged ?? true;
  }

  /** The version new keys are tagged with (`keyTag.current`). */
  get currentVersion(): string {
    return this.current;
  }

  /** The tag to append to `<prefix>_<random>`, with the current secret. */
  tag(head: string): string {
    return this.current + this.mac(this.keys.get(this.current)!, head + this.current);
  }

  /**
   * Whether a presented key may go on to the database: it carries a valid tag,
   * or none while `acceptUntagged` is on.
   */
  accepts(prefix: string, body: string): boolean {
    const verdict = this.check(prefix, body);
    return verdict === 'tagged' || (verdict === 'untagged' && this.acceptUntagged);
  }

  /** {@link accepts} for a whole key already checked by `parseApiKey` (or `environmentOf`). */
  acceptsKey(key: string): boolean {
    const split = key.lastIndexOf('_');
    return this.accepts(key.slice(0, split), key.slice(split + 1, -CHECKSUM_LENGTH));
  }

  /**
   * Whether `body` (the part between the prefix's `_` and the checksum)
   * carries a valid tag, none (any other length than a tagged body's), or a
   * wrong one. Constant time in the MAC.
   */
  check(prefix: string, body: string): KeyTagVerdict {
    const randomLength = this.randomLength;
    if (body.length !== randomLength + KEY_TAG_LENGTH) return 'untagged';
    const version = body[randomLength];
    const key = this.keys.get(version);
    const expected = this.mac(key ?? this.keys.get(this.current)!, `${prefix}_${body.slice(0, randomLength + 1)}`);
    const equal = constantTimeEqual(expected, body.slice(randomLength + 1));
    return key && equal ? 'tagged' : 'forged';
  }

  /**
   * A check value of the current secret: its version and seven characters of
   * its MAC over a fixed text no key contains (so it is never a valid tag).
   * Recorded with the app's key format, it lets a tool given a secret (the
   * operator CLI) tell whether it is the app's before tagging keys with it.
   * Like any check value it confirms a guessed secret: use random secrets.
   */
  checkValue(): string {
    return this.current + this.mac(this.keys.get(this.current)!, CHECK_VALUE_TEXT + this.current);
  }

  private mac(key: KeyObject, data: string): string {
    const digest = this.hmacs.get(key)?.mac(data) ?? createHmac('sha256', key).update(data).digest();
    return encodeBase62(digest.readUIntBE(0, 6) % MAC_MODULUS, MAC_LENGTH);
  }
}

function toKeyObject(secret: string | Buffer | KeyObject, version: string): KeyObject {
  const key =
    typeof secret === 'string' || Buffer.isBuffer(secret)
      ? createSecretKey(typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret)
      : secret;
  if (key?.type !== 'secret' || (key.symmetricKeySize ?? 0) < MIN_KEY_TAG_SECRET_BYTES) {
    throw new ApiKeyConfigurationError(
      `keyTag secret ${version} must be at least ${MIN_KEY_TAG_SECRET_BYTES} bytes`,
      secretOption(version),
    );
  }
  return key;
}

/** The option path of one secret: `keyTag.secrets["1"]`. */
function secretOption(version: string): string {
  return `keyTag.secrets[${JSON.stringify(version)}]`;
}
