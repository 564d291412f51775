// One list of special-purpose address blocks (RFC 6890 and the IANA registries) for every
// component that connects somewhere on a caller's behalf: the enclave's egress and the AS's
// metadata fetches (CIMD, jwks_uri). Two copies would drift, and the one that drifted would
// be an SSRF.
import { BlockList, isIP } from 'node:net'

const nonPublic = new BlockList()
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link local, including cloud metadata (169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv4')
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 23], // IETF protocol assignments
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link local
  ['fec0::', 10], // site local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv6')
}

/**
 * True when `address` is an IP address outside every special-purpose block, i.e. one that a
 * server may connect to on a caller's behalf. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`)
 * are judged by their IPv4 address; anything that is not an IP literal is `false`.
 *
 * @example
 * isPublicAddress('93.184.216.34') // true
 * isPublicAddress('169.254.169.254') // false
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 0) return false
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6')
}
