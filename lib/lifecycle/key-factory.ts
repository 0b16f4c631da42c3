import { randomUUID } from 'node:crypto';
import type { ApiKeyColumns } from '../storage/api-key.entity.js';
import type { ResolvedApiKeyOptions } from '../api-key.options.js';
import { generateApiKey, hintOf, parseApiKey } from '../key/key-format.js';
import { hashApiKey } from '../key/key-hash.js';
import type { KeyTagger } from '../key/key-tag.js';
import { validateEnvironment } from '../policies/api-key.input.js';

/** The fields a new key row takes from its caller. */
export type NewKeyFields = Pick<
  ApiKeyColumns,
  | 'name'
  | 'ownerId'
  | 'scopes'
  | 'metadata'
  | 'expiresAt'
  | 'remainingUses'
  | 'rateLimitMax'
  | 'rateLimitWindowMs'
  | 'refillAmount'
  | 'refillIntervalMs'
  | 'refilledAtMs'
  | 'allowedIps'
>;

/** The key prefix of an environment; the first configured one by default. */
export function prefixFor(options: ResolvedApiKeyOptions, environment: unknown): string {
  const checked = validateEnvironment(environment, options.environments);
  return checked === undefined ? options.prefix : `${options.prefix}_${checked}`;
}

/** The prefix a stored key was issued with, read from its hint (`sk_test_AbCd` gives `sk_test`). */
export function prefixOfHint(hint: string): string {
  return hint.slice(0, hint.lastIndexOf('_'));
}

/** The environment of a stored key, read from its hint (`null` without environments). */
export function environmentOfHint(options: ResolvedApiKeyOptions, hint: string): string | null {
  return options.prefixes.get(prefixOfHint(hint)) ?? null;
}

/**
 * A new key and the row that stores it: the plaintext (to hand out once) and
 * a row with only its SHA-256 and display hint. `familyId` starts a new
 * rotation family unless given.
 */
export function createKey(
  fields: NewKeyFields,
  options: { prefix: string; entropyBits: number; now: number; familyId?: string | null; keyTagger?: KeyTagger },
): { key: string; row: ApiKeyColumns } {
  const tagger = options.keyTagger;
  const tag = tagger && ((head: string) => tagger.tag(head));
  const key = generateApiKey({ prefix: options.prefix, entropyBits: options.entropyBits, tag });
  const id = randomUUID();
  const row: ApiKeyColumns = {
    id,
    ...fields,
    hint: hintOf(parseApiKey(key)),
    hash: hashApiKey(key),
    createdAt: new Date(options.now),
    revokedAt: null,
    revokedReason: null,
    lastUsedAt: null,
    replacedById: null,
    familyId: options.familyId ?? id,
    disabledAt: null,
    disabledReason: null,
  };
  return { key, row };
}
