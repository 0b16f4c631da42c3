import { ApiKeyValidationError } from '../api-key.errors.js';

/** The longest scope string accepted. */
export const MAX_SCOPE_LENGTH = 128;
/** The most scopes one key may hold. */
export const MAX_SCOPES_PER_KEY = 100;

// Segments of letters, digits, `_ . -` joined by `:`; a grant may end in `:*`, or be `*`.
const SCOPE_PATTERN = /^(?:\*|[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*(?::\*)?)$/;

/**
 * A route's compiled scope requirement: every scope of `allOf`, and at least
 * one scope of each group in `anyOf`.
 */
export interface ScopeRequirement {
  readonly allOf: readonly string[];
  readonly anyOf: readonly (readonly string[])[];
}

/** The requirement of a route with no `@Scopes()`: any valid key passes. */
export const NO_SCOPES_REQUIRED: ScopeRequirement = Object.freeze({ allOf: [], anyOf: [] });

/** True when `scope` is a syntactically valid scope or wildcard grant. */
export function isValidScope(scope: unknown): scope is string {
  return typeof scope === 'string' && scope.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(scope);
}

/**
 * Validates and de-duplicates a list of scopes for storage.
 * @throws ApiKeyValidationError naming the first bad entry
 */
export function normalizeScopes(scopes: unknown): string[] {
  if (!Array.isArray(scopes)) throw new ApiKeyValidationError('scopes must be an array of strings');
  if (scopes.length > MAX_SCOPES_PER_KEY) {
    throw new ApiKeyValidationError(`a key may hold at most ${MAX_SCOPES_PER_KEY} scopes`);
  }
  for (const scope of scopes) {
    if (!isValidScope(scope)) {
      throw new ApiKeyValidationError(
        `invalid scope ${JSON.stringify(scope)}: use segments of letters, digits, "_", "." or "-" joined by ":", optionally ending in ":*", or "*"`,
      );
    }
  }
  return [...new Set(scopes as string[])];
}

/**
 * True when one granted scope covers a required one: equal, `*`, or a
 * `prefix:*` grant and a requirement below that prefix on a segment boundary
 * (`orders:*` covers `orders:read` and `orders:refund:create`, not `ordersx:read`
 * nor `orders` itself).
 */
export function grantCovers(granted: string, required: string): boolean {
  if (granted === required || granted === '*') return true;
  return granted.endsWith(':*') && required.startsWith(granted.slice(0, -1));
}

/** True when any of the granted scopes covers `required`. */
export function hasScope(granted: readonly string[], required: string): boolean {
  for (const g of granted) if (grantCovers(g, required)) return true;
  return false;
}

/** True when the granted scopes satisfy the whole requirement. */
export function matchScopes(requirement: ScopeRequirement, granted: readonly string[]): boolean {
  for (const scope of requirement.allOf) if (!hasScope(granted, scope)) return false;
  for (const group of requirement.anyOf) if (!group.some((scope) => hasScope(granted, scope))) return false;
  return true;
}

/** Merges requirements (class and handler): all of them apply. */
export function mergeRequirements(...parts: (ScopeRequirement | undefined)[]): ScopeRequirement {
  const allOf = new Set<string>();
  const anyOf: (readonly string[])[] = [];
  for (const part of parts) {
    if (!part) continue;
    part.allOf.forEach((s) => allOf.add(s));
    anyOf.push(...part.anyOf);
  }
  return allOf.size === 0 && anyOf.length === 0 ? NO_SCOPES_REQUIRED : { allOf: [...allOf], anyOf };
}

/** Every scope a requirement names, space-separated, for the RFC 6750 `scope` attribute. */
export function describeRequirement(requirement: ScopeRequirement): string {
  return [...new Set([...requirement.allOf, ...requirement.anyOf.flat()])].join(' ');
}
