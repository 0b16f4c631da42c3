import { BlockList, isIP } from 'node:net';
import { ApiKeyValidationError } from '../../api-key.errors.js';
import { normalizeScopes } from '../../policies/scope-matcher.js';
import { uncoveredScopes } from '../../policies/delegation.js';
import { validateAllowedIps } from '../../policies/ip-allowlist.js';

/** The owner id of the default policy: it applies to every key whose owner has no policy of its own (and to keys without an owner). */
export const DEFAULT_POLICY_OWNER = '*';

/**
 * What every key of an owner must be. Each field is optional; a field left out (or `null`) sets no rule.
 * @example
 * { scopes: ['orders:*'], maxLifetimeMs: 30 * 86_400_000, environments: ['test'], allowedIps: ['10.0.0.0/8'] }
 */
export interface OwnerPolicy {
  /** The scopes its keys may hold: every scope of a key must be covered by one of these (`orders:*` covers `orders:read`). */
  readonly scopes?: readonly string[] | null;
  /** The longest a key may live, from its creation to its expiry (ms); a key that never expires breaks it. */
  readonly maxLifetimeMs?: number | null;
  /** True: every key must have an expiry. */
  readonly requireExpiry?: boolean | null;
  /** The environments its keys may be of (`live`, `test`), among the module's `environments`. */
  readonly environments?: readonly string[] | null;
  /**
   * The address ranges every key must be restricted to: a key must carry an `allowedIps` list whose every entry
   * lies within one of these ranges (a key usable from any address breaks it).
   */
  readonly allowedIps?: readonly string[] | null;
}

/** A rule of an {@link OwnerPolicy}, as errors, logs, events and `disabledReason` (`policy:<rule>`) name it. */
export type OwnerPolicyRule = 'scopes' | 'lifetime' | 'expiry' | 'environment' | 'addresses';

/** The rules, in the order a key is checked against them. */
export const OWNER_POLICY_RULES: readonly OwnerPolicyRule[] = Object.freeze([
  'scopes',
  'expiry',
  'lifetime',
  'environment',
  'addresses',
]);

/** A key as a policy sees it. */
export interface PolicyKey {
  readonly scopes: readonly string[];
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  /** Its environment (from its prefix), `null` without environments. */
  readonly environment: string | null;
  /** The stored allowlist (JSON text), `null` for any address. */
  readonly allowedIps: string | null;
}

/** The longest lifetime a policy may set: 100 years. */
const MAX_POLICY_LIFETIME_MS = 100 * 365 * 86_400_000;

const FIELDS = ['scopes', 'maxLifetimeMs', 'requireExpiry', 'environments', 'allowedIps'];

/**
 * Checks a policy given to `set` and returns it normalized (fields without a rule left out).
 * @throws ApiKeyValidationError naming the bad field
 */
export function validateOwnerPolicy(policy: unknown, environments: readonly string[]): OwnerPolicy {
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
    throw new ApiKeyValidationError(`an owner policy is an object of ${FIELDS.join(', ')}`);
  const given = policy as Record<string, unknown>;
  const unknown = Object.keys(given).find((field) => !FIELDS.includes(field));
  if (unknown !== undefined)
    throw new ApiKeyValidationError(`unknown owner policy field ${JSON.stringify(unknown)}: use ${FIELDS.join(', ')}`);
  const out: { -readonly [K in keyof OwnerPolicy]: OwnerPolicy[K] } = {};
  if (given.scopes != null) {
    if (!Array.isArray(given.scopes)) throw new ApiKeyValidationError('scopes must be an array of scopes');
    out.scopes = normalizeScopes(given.scopes);
  }
  const lifetime = given.maxLifetimeMs;
  if (lifetime != null) {
    if (
      typeof lifetime !== 'number' ||
      !Number.isInteger(lifetime) ||
      lifetime < 1000 ||
      lifetime > MAX_POLICY_LIFETIME_MS
    )
      throw new ApiKeyValidationError('maxLifetimeMs must be a whole number of ms from 1000 to 100 years');
    out.maxLifetimeMs = lifetime;
  }
  if (given.requireExpiry != null) {
    if (typeof given.requireExpiry !== 'boolean') throw new ApiKeyValidationError('requireExpiry must be a boolean');
    if (given.requireExpiry) out.requireExpiry = true;
  }
  if (given.environments != null) {
    const list = given.environments;
    if (!Array.isArray(list) || list.length === 0)
      throw new ApiKeyValidationError('environments must be a non-empty array of the module environments');
    const bad = list.find((environment) => !environments.includes(environment as string));
    if (bad !== undefined)
      throw new ApiKeyValidationError(
        `unknown environment ${JSON.stringify(bad)}: the module has ${environments.length ? environments.join(', ') : 'none'}`,
      );
    out.environments = [...new Set(list as string[])];
  }
  if (given.allowedIps != null) out.allowedIps = validateAllowedIps(given.allowedIps)!;
  return out;
}

/** An address or CIDR range as a network: its address, family and prefix length; `undefined` if it is neither. */
function networkOf(entry: unknown): { address: string; family: 'ipv4' | 'ipv6'; prefix: number } | undefined {
  if (typeof entry !== 'string') return undefined;
  const [address, bits] = entry.split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, family: version === 4 ? 'ipv4' : 'ipv6', prefix };
}

/**
 * True when every entry of a key's stored allowlist lies within one of `ranges`: an entry `a/p` lies within a
 * range `r/q` when `p >= q` and `a` is in `r/q`. A list that cannot be read lies within nothing.
 */
export function allowlistWithin(stored: string | null, ranges: readonly string[]): boolean {
  if (stored === null) return false;
  let entries: unknown;
  try {
    entries = JSON.parse(stored);
  } catch {
    return false;
  }
  if (!Array.isArray(entries) || entries.length === 0) return false;
  const networks = ranges.map(networkOf);
  return entries.every((entry) => {
    const net = networkOf(entry);
    return (
      net !== undefined &&
      networks.some((range) => {
        if (!range || range.family !== net.family || net.prefix < range.prefix) return false;
        const list = new BlockList();
        list.addSubnet(range.address, range.prefix, range.family);
        return list.check(net.address, net.family);
      })
    );
  });
}

/** Why a key breaks a rule, for the error's message. */
function explain(rule: OwnerPolicyRule, policy: OwnerPolicy, key: PolicyKey): string {
  switch (rule) {
    case 'scopes':
      return `scopes ${uncoveredScopes(policy.scopes!, key.scopes).join(', ')} are beyond the allowed ${policy.scopes!.join(', ') || '(none)'}`;
    case 'expiry':
      return 'keys must have an expiry';
    case 'lifetime':
      return `keys may live at most ${policy.maxLifetimeMs} ms from their creation`;
    case 'environment':
      return `keys must be of ${policy.environments!.join(', ')}, not ${key.environment ?? 'no environment'}`;
    case 'addresses':
      return `keys must be restricted to addresses within ${policy.allowedIps!.join(', ')}`;
  }
}

/** True when `key` breaks `rule` of `policy` (false for a rule the policy does not set). */
function breaks(rule: OwnerPolicyRule, policy: OwnerPolicy, key: PolicyKey): boolean {
  switch (rule) {
    case 'scopes':
      return !!policy.scopes && uncoveredScopes(policy.scopes, key.scopes).length > 0;
    case 'expiry':
      return !!policy.requireExpiry && key.expiresAt === null;
    case 'lifetime':
      return (
        policy.maxLifetimeMs != null &&
        (key.expiresAt === null || key.expiresAt.getTime() - key.createdAt.getTime() > policy.maxLifetimeMs)
      );
    case 'environment':
      return !!policy.environments && !policy.environments.includes(key.environment as string);
    case 'addresses':
      return !!policy.allowedIps && !allowlistWithin(key.allowedIps, policy.allowedIps);
  }
}

/** The first rule of `policy` that `key` breaks, with why, or `null` when it complies. */
export function policyViolation(
  policy: OwnerPolicy | null,
  key: PolicyKey,
): { rule: OwnerPolicyRule; message: string } | null {
  if (!policy) return null;
  const rule = OWNER_POLICY_RULES.find((candidate) => breaks(candidate, policy, key));
  return rule ? { rule, message: explain(rule, policy, key) } : null;
}
