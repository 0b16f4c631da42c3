import { isIP } from 'node:net';

/** How many leading bits of an address are kept: `ipv4` of 32, `ipv6` of 128. */
export interface AddressPrefixes {
  readonly ipv4: number;
  readonly ipv6: number;
}

/** The prefixes `truncate: true` keeps: a /24 of IPv4, a /48 of IPv6 (a site). */
export const TRUNCATED_PREFIXES: AddressPrefixes = Object.freeze({ ipv4: 24, ipv6: 48 });

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The address to keep of one the transport gave: IPv4-mapped IPv6 as plain IPv4 (`::ffff:1.2.3.4` ->
 * `1.2.3.4`), an IPv6 zone dropped, IPv6 in its short form (RFC 5952); with `prefixes`, only the network, in
 * CIDR notation (`203.0.113.0/24`, `2001:db8:85a3::/48`). `undefined` for anything that is not an IP address.
 * Pure, no I/O.
 * @example
 * storedAddressOf('::ffff:203.0.113.9', TRUNCATED_PREFIXES) // '203.0.113.0/24'
 */
export function storedAddressOf(raw: unknown, prefixes?: AddressPrefixes): string | undefined {
  if (typeof raw !== 'string' || raw.length > 100) return undefined;
  const zone = raw.indexOf('%');
  const unzoned = zone === -1 ? raw : raw.slice(0, zone);
  const mapped = IPV4_MAPPED.exec(unzoned);
  const address = mapped ? mapped[1] : unzoned;
  const version = isIP(address);
  if (version === 4) {
    const octets = address.split('.').map(Number);
    if (!prefixes || prefixes.ipv4 >= 32) return octets.join('.');
    return `${maskBits(octets, 8, prefixes.ipv4).join('.')}/${prefixes.ipv4}`;
  }
  if (version === 6) {
    const groups = ipv6Groups(address);
    if (!prefixes || prefixes.ipv6 >= 128) return ipv6Text(groups);
    return `${ipv6Text(maskBits(groups, 16, prefixes.ipv6))}/${prefixes.ipv6}`;
  }
  return undefined;
}

/** `parts` (each `width` bits) with every bit past the first `keep` cleared. */
function maskBits(parts: readonly number[], width: number, keep: number): number[] {
  return parts.map((part, index) => {
    const kept = Math.min(width, Math.max(0, keep - index * width));
    return kept === 0 ? 0 : part & (((1 << kept) - 1) << (width - kept));
  });
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail as two groups). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  if (tail === undefined) return front;
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run of two or more zero groups as `::`. */
function ipv6Text(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8;) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
