import { ApiKeyConfigurationError } from '../../api-key.errors.js';
import { TRUNCATED_PREFIXES, type AddressPrefixes } from './client-address.js';

/** The injection token of the resolved {@link ResolvedLastAddressOptions}. */
export const API_KEY_LAST_ADDRESS_OPTIONS = Symbol('nestjs-opaque-keys:last-address-options');

/** Options of `withLastAddress(options)`. */
export interface ApiKeyLastAddressOptions {
  /**
   * Keep only the network of each address: `true` keeps a /24 of IPv4 and a /48 of IPv6
   * (`203.0.113.0/24`, `2001:db8:85a3::/48`); `{ ipv4, ipv6 }` other prefix lengths. Default `false`: the
   * whole address.
   */
  truncate?: boolean | Partial<AddressPrefixes>;
  /**
   * How often the noted addresses are written, in ms: the most a crash can lose. Default: the setup's
   * `lastUsedIntervalMs` (60000 unless set; 60000 when that is 0).
   */
  flushIntervalMs?: number;
}

/** Last-address options with defaults applied (`flushIntervalMs` once the setup's options are known). */
export interface ResolvedLastAddressOptions {
  /** The prefixes kept, or `undefined` for whole addresses. */
  readonly prefixes: AddressPrefixes | undefined;
  readonly flushIntervalMs: number | undefined;
}

function prefixOf(value: unknown, fallback: number, max: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > max)
    throw new ApiKeyConfigurationError(`${option} must be an integer from 0 to ${max}`, option);
  return value as number;
}

/** Applies defaults and checks values. @throws ApiKeyConfigurationError naming the option */
export function resolveLastAddressOptions(options: ApiKeyLastAddressOptions = {}): ResolvedLastAddressOptions {
  if (typeof options !== 'object' || options === null)
    throw new ApiKeyConfigurationError('withLastAddress() takes an options object', 'lastAddress');
  const { truncate = false, flushIntervalMs } = options;
  let prefixes: AddressPrefixes | undefined;
  if (truncate === true) prefixes = TRUNCATED_PREFIXES;
  else if (typeof truncate === 'object' && truncate !== null)
    prefixes = Object.freeze({
      ipv4: prefixOf(truncate.ipv4, TRUNCATED_PREFIXES.ipv4, 32, 'lastAddress.truncate.ipv4'),
      ipv6: prefixOf(truncate.ipv6, TRUNCATED_PREFIXES.ipv6, 128, 'lastAddress.truncate.ipv6'),
    });
  else if (truncate !== false)
    throw new ApiKeyConfigurationError(
      'lastAddress.truncate must be a boolean or { ipv4, ipv6 } prefix lengths',
      'lastAddress.truncate',
    );
  if (flushIntervalMs !== undefined && !(Number.isInteger(flushIntervalMs) && flushIntervalMs >= 100))
    throw new ApiKeyConfigurationError(
      'lastAddress.flushIntervalMs must be an integer of at least 100 ms',
      'lastAddress.flushIntervalMs',
    );
  return { prefixes, flushIntervalMs };
}
