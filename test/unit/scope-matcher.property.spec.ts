import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { isValidScope, matchScopes } from 'nestjs-opaque-keys';
import { grantCovers, type ScopeRequirement } from '../../lib/policies/index.js';
import { mergeRequirements } from '../../lib/policies/index.js';

/**
 * The scope matcher against an independent reference model, on random scope
 * sets: 10,000 runs per property from a fixed seed.
 */
const RUNS = { numRuns: 10_000, seed: 42 } as const;

// --- the reference model: segments compared one by one, no string prefixes ---

/** Does one granted scope cover one required scope? Written from the spec, not from the code. */
function referenceCovers(granted: string, required: string): boolean {
  if (granted === '*') return true;
  const g = granted.split(':');
  const r = required.split(':');
  if (g[g.length - 1] === '*') {
    // `a:b:*` covers every scope with at least one more segment below `a:b`.
    const base = g.slice(0, -1);
    return r.length > base.length && base.every((segment, i) => segment === r[i]);
  }
  return g.length === r.length && g.every((segment, i) => segment === r[i]);
}

function referenceHas(grants: readonly string[], required: string): boolean {
  return grants.some((g) => referenceCovers(g, required));
}

function referenceMatch(requirement: ScopeRequirement, grants: readonly string[]): boolean {
  return (
    requirement.allOf.every((scope) => referenceHas(grants, scope)) &&
    requirement.anyOf.every((group) => group.some((scope) => referenceHas(grants, scope)))
  );
}

// --- arbitraries: few, look-alike segments, so that near misses are frequent ---

const segment = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'orders',
      'ordersx',
      'order',
      'o',
      'read',
      'write',
      'refund',
      'a',
      'a.b',
      'a-b',
      'x_y',
      'ORDERS',
    ),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,6}$/) },
);
/** A required scope: what `@Scopes()` accepts (no wildcard). */
const requiredScope = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join(':'));
/** A granted scope: a plain scope, a `prefix:*` wildcard, or `*`. */
const grantedScope = fc.oneof(
  { weight: 5, arbitrary: requiredScope },
  { weight: 4, arbitrary: requiredScope.map((scope) => `${scope}:*`) },
  { weight: 1, arbitrary: fc.constant('*') },
);
const grants = fc.array(grantedScope, { maxLength: 6 });
const requirement: fc.Arbitrary<ScopeRequirement> = fc.record({
  allOf: fc.array(requiredScope, { maxLength: 3 }),
  anyOf: fc.array(fc.array(requiredScope, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
});

function check(actual: unknown, expected: unknown, what: () => string): void {
  if (actual !== expected) throw new Error(`${what()}: expected ${String(expected)}, got ${String(actual)}`);
}

describe('scope matching (properties, against a reference model)', () => {
  it('generates only valid scopes (sanity check of the arbitraries)', () => {
    fc.assert(
      fc.property(grants, requiredScope, (granted, required) => {
        check(granted.every(isValidScope) && isValidScope(required), true, () => JSON.stringify([granted, required]));
      }),
      { numRuns: 1000, seed: 42 },
    );
  });

  it('grantCovers agrees with the reference on random pairs', () => {
    fc.assert(
      fc.property(grantedScope, requiredScope, (granted, required) => {
        check(
          grantCovers(granted, required),
          referenceCovers(granted, required),
          () => `${granted} covers ${required}`,
        );
      }),
      RUNS,
    );
  });

  it('grantCovers agrees with the reference when the requirement sits right next to the grant', () => {
    // The interesting cases: the required scope extends, shortens or edits the grant.
    const nearPair = fc
      .tuple(requiredScope, fc.constantFrom('', ':read', 'x', 'x:read', ':*'), fc.boolean())
      .map(([base, tail, wildcard]) => ({
        granted: wildcard ? `${base}:*` : base,
        required: base + tail,
      }));
    fc.assert(
      fc.property(nearPair, ({ granted, required }) => {
        check(
          grantCovers(granted, required),
          referenceCovers(granted, required),
          () => `${granted} covers ${required}`,
        );
      }),
      RUNS,
    );
  });

  it('matchScopes (all-of and any-of groups) agrees with the reference on random scope sets', () => {
    fc.assert(
      fc.property(requirement, grants, (required, granted) => {
        check(matchScopes(required, granted), referenceMatch(required, granted), () =>
          JSON.stringify({ required, granted }),
        );
      }),
      RUNS,
    );
  });

  it('wildcards stop at segment boundaries: `p:*` never grants `px:...` nor `p` itself', () => {
    fc.assert(
      fc.property(
        requiredScope,
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,4}$/),
        fc.option(requiredScope, { nil: undefined }),
        (p, x, rest) => {
          const lookalike = rest === undefined ? `${p}${x}` : `${p}${x}:${rest}`;
          check(grantCovers(`${p}:*`, lookalike), false, () => `${p}:* covers ${lookalike}`);
          check(grantCovers(`${p}:*`, p), false, () => `${p}:* covers ${p}`);
          check(matchScopes({ allOf: [lookalike], anyOf: [] }, [`${p}:*`]), false, () => `match ${lookalike}`);
          check(grantCovers(`${p}:*`, `${p}:${x}`), true, () => `${p}:* misses ${p}:${x}`);
        },
      ),
      RUNS,
    );
    expect(grantCovers('orders:*', 'ordersx:read')).toBe(false);
  });

  it('`*` grants every requirement; no grants satisfy only the empty requirement', () => {
    fc.assert(
      fc.property(requirement, (required) => {
        check(matchScopes(required, ['*']), true, () => JSON.stringify(required));
        const empty = required.allOf.length === 0 && required.anyOf.length === 0;
        check(matchScopes(required, []), empty, () => JSON.stringify(required));
      }),
      RUNS,
    );
  });

  it('is monotonic: more grants never turn a pass into a failure', () => {
    fc.assert(
      fc.property(requirement, grants, grants, (required, granted, more) => {
        if (matchScopes(required, granted))
          check(matchScopes(required, [...granted, ...more]), true, () => JSON.stringify({ required, granted, more }));
      }),
      RUNS,
    );
  });

  it('class and handler requirements merged both apply', () => {
    fc.assert(
      fc.property(requirement, requirement, grants, (onClass, onHandler, granted) => {
        const merged = mergeRequirements(onClass, onHandler);
        check(matchScopes(merged, granted), matchScopes(onClass, granted) && matchScopes(onHandler, granted), () =>
          JSON.stringify({ onClass, onHandler, granted }),
        );
      }),
      RUNS,
    );
  });
});
