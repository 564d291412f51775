import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'

/** Special-use ranges (RFC 6890 and friends): never fetched on a client's behalf. */
const BLOCKED = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6')
}

export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  return !BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

/**
 * True when `hostname` is a DNS name whose every address is public. IP literals are
 * refused outright, so no connection is ever attempted to them (checked before any fetch;
 * oidc-provider re-checks the connected socket, which covers DNS rebinding).
 */
export async function isPublicHostname(
  hostname: string,
  resolve: (host: string) => Promise<{ address: string }[]> = (host) =>
    lookup(host, { all: true, verbatim: true }),
): Promise<boolean> {
  const bare = hostname.replace(/^\[|\]$/g, '')
  if (
    isIP(bare) !== 0 ||
    bare === '' ||
    bare.toLowerCase() === 'localhost' ||
    bare.toLowerCase().endsWith('.localhost')
  ) {
    return false
  }
  try {
    const addresses = await resolve(bare)
    return addresses.length > 0 && addresses.every((a) => isPublicAddress(a.address))
  } catch {
    return false
  }
}
