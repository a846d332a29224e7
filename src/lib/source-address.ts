/**
 * The part of a client address an abuse limit counts (docs/limits.md). An
 * IPv6 host usually holds a whole /64 and can take any address in it, so
 * counting per address would give it 2^64 budgets: IPv6 sources count per
 * network of `ipv6PrefixLength` bits. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports) is the IPv4
 * address it maps. ipaddr.js (which Fastify's proxy-addr already uses)
 * parses, so no hand-written IPv6 parser is needed here.
 */
import ipaddr from 'ipaddr.js';

export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

/** `192.0.2.1`, `2001:db8:1:2::/64`; anything that is not an IP address (a test's label, a Unix socket) stays as it is. */
export function limitedAddress(address: string, ipv6PrefixLength: number = DEFAULT_IPV6_PREFIX_LENGTH): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  // The zone (`%eth0`) names an interface of ours, not a part of the client's address.
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toNormalizedString()}/${ipv6PrefixLength}`);
  return `${network.toString()}/${ipv6PrefixLength}`;
}
