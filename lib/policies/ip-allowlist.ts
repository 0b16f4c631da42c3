import { BlockList, isIP } from 'node:net';
import { ApiKeyValidationError } from '../api-key.errors.js';

/** The most entries one key's allowlist may hold. */
export const MAX_ALLOWED_IPS = 100;

/** Compiled allowlists kept, by stored value, before the cache starts over. */
const MAX_COMPILED = 10_000;

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * A key's compiled IP allowlist: the entries as stored, and a matcher.
 * An allowlist that could not be read from storage has no entries and
 * allows no address (fail closed).
 */
export interface IpAllowlist {
  /** The addresses and CIDR ranges, as issued (`[]` for a stored list that could not be read). */
  readonly entries: readonly string[];
  /** True when `address` (as the transport gives it: `req.ip`, a socket's peer) is in the list; false for a non-string. */
  allows(address: unknown): boolean;
}

/** Splits `203.0.113.0/24` into its address, family and prefix length; `undefined` if it is neither an IP nor a CIDR. */
function parseEntry(entry: unknown): { address: string; family: 'ipv4' | 'ipv6'; prefix: number } | undefined {
  if (typeof entry !== 'string' || entry.length > 64) return undefined;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (slash === -1) return { address, family, prefix: max };
  const bits = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { address, family, prefix: Number(bits) };
}

/**
 * Checks an allowlist given to `issue` or `update`: absent/null (any
 * address), or 1 to 100 IPv4 / IPv6 addresses and CIDR ranges
 * (`203.0.113.0/24`, `2001:db8::/32`). An empty list is refused: it would
 * lock the key out (use `disable` for that).
 * @throws ApiKeyValidationError naming the first bad entry
 */
export function validateAllowedIps(allowedIps: unknown): string[] | null {
  if (allowedIps === undefined || allowedIps === null) return null;
  if (!Array.isArray(allowedIps) || allowedIps.length === 0 || allowedIps.length > MAX_ALLOWED_IPS) {
    throw new ApiKeyValidationError(
      `allowedIps must be null or an array of 1 to ${MAX_ALLOWED_IPS} IP addresses or CIDR ranges`,
    );
  }
  for (const entry of allowedIps) {
    if (!parseEntry(entry)) {
      throw new ApiKeyValidationError(
        `invalid allowedIps entry ${JSON.stringify(entry)}: use an IPv4 or IPv6 address or CIDR range, e.g. 203.0.113.0/24 or 2001:db8::/32`,
      );
    }
  }
  return [...new Set(allowedIps as string[])];
}

/** Builds the matcher of a list; a list with one bad entry allows nothing. */
export function compileAllowlist(entries: readonly unknown[]): IpAllowlist {
  const list = new BlockList();
  const parsed = entries.map(parseEntry);
  if (parsed.length === 0 || parsed.some((entry) => entry === undefined)) return DENY_ALL;
  for (const { address, family, prefix } of parsed as NonNullable<ReturnType<typeof parseEntry>>[]) {
    list.addSubnet(address, prefix, family);
  }
  return {
    entries: entries as string[],
    allows(address: unknown): boolean {
      if (typeof address !== 'string') return false;
      const mapped = IPV4_MAPPED.exec(address);
      const candidate = mapped ? mapped[1] : address;
      const version = isIP(candidate);
      if (version === 0) return false;
      return list.check(candidate, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** The allowlist of a list that could not be read: no entry, no address allowed. */
const DENY_ALL: IpAllowlist = Object.freeze({ entries: Object.freeze([]) as readonly string[], allows: () => false });

const compiled = new Map<string, IpAllowlist>();

/**
 * The compiled allowlist of a stored column value (JSON text), compiled once
 * per distinct value (so once per key, not per request). `null` for a key
 * with no allowlist; a value that cannot be parsed allows nothing.
 */
export function storedAllowlist(stored: string | null): IpAllowlist | null {
  if (stored === null) return null;
  let allowlist = compiled.get(stored);
  if (!allowlist) {
    let entries: unknown;
    try {
      entries = JSON.parse(stored);
    } catch {
      entries = undefined;
    }
    allowlist = Array.isArray(entries) ? compileAllowlist(entries) : DENY_ALL;
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(stored, allowlist);
  }
  return allowlist;
}
