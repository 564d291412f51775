import { BlockList, isIP } from 'node:net'
import { isPublicAddress } from '@dauth/protocol'

/**
 * Egress host policy (ARCHITECTURE.md §3, THREATS.md "Connections and the enclave").
 * A host is compared byte for byte with an entry of the plaintext's `allowed_hosts`, and both
 * must be a lower-case ASCII DNS name: no IP literal (in any inet_aton spelling), no userinfo,
 * no trailing dot, no non-ASCII, no port unless dev upstreams are on.
 */
export type HostCheck = { ok: true; hostname: string; port: number } | { ok: false; reason: string }

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/

export function checkHostSyntax(host: string, devUpstreams: boolean): HostCheck {
  if (host.length === 0 || host.length > 260) return { ok: false, reason: 'host_length' }
  if (!/^[a-z0-9.:-]+$/.test(host)) return { ok: false, reason: 'host_chars' }
  let hostname = host
  let port = 443
  const colon = host.indexOf(':')
  if (colon !== -1) {
    if (!devUpstreams) return { ok: false, reason: 'host_port' }
    hostname = host.slice(0, colon)
    const portText = host.slice(colon + 1)
    if (!/^[1-9][0-9]{0,4}$/.test(portText)) return { ok: false, reason: 'host_port_syntax' }
    port = Number(portText)
    if (port > 65535) return { ok: false, reason: 'host_port_range' }
  }
  if (hostname.length > 253 || hostname.endsWith('.'))
    return { ok: false, reason: 'host_trailing_dot' }
  if (isIP(hostname) !== 0) return { ok: false, reason: 'host_ip_literal' }
  const labels = hostname.split('.')
  if (!labels.every((l) => LABEL.test(l))) return { ok: false, reason: 'host_label' }
  const last = labels[labels.length - 1] ?? ''
  // getaddrinfo accepts inet_aton forms such as 0x7f.1 or 2130706433: refuse numeric TLDs.
  if (NUMERIC_LABEL.test(last)) return { ok: false, reason: 'host_ip_literal' }
  const isLocalhost = hostname === 'localhost' || hostname.endsWith('.localhost')
  if (!devUpstreams) {
    if (isLocalhost) return { ok: false, reason: 'host_localhost' }
    if (labels.length < 2) return { ok: false, reason: 'host_single_label' }
  }
  return { ok: true, hostname, port }
}

/**
 * Picks the target host: the request's `host` if given (it must equal an allowed entry
 * exactly), otherwise the first allowed host.
 */
export function selectAllowedHost(
  requested: string | undefined,
  allowedHosts: readonly string[],
  devUpstreams: boolean,
): HostCheck {
  const target = requested ?? allowedHosts[0]
  if (target === undefined) return { ok: false, reason: 'no_allowed_hosts' }
  if (!allowedHosts.includes(target)) return { ok: false, reason: 'host_not_in_allowed_hosts' }
  return checkHostSyntax(target, devUpstreams)
}

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/** True when the address may be connected to: public, or loopback with dev upstreams on. */
export function isPermittedAddress(address: string, devUpstreams: boolean): boolean {
  const family = isIP(address)
  if (family === 0) return false
  const type = family === 4 ? 'ipv4' : 'ipv6'
  if (devUpstreams && loopback.check(address, type)) return true
  return isPublicAddress(address)
}

export interface ResolvedAddress {
  address: string
  family: number
}

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>

export type ResolveResult =
  | { ok: true; address: ResolvedAddress }
  | { ok: false; code: 'host_not_allowed' | 'upstream_unreachable'; reason: string }

/**
 * Resolves the name once, refuses it when ANY address is not permitted (a name must not
 * mix public and private answers), and returns the address the connection is pinned to.
 */
export async function resolvePinnedAddress(
  hostname: string,
  devUpstreams: boolean,
  resolver: Resolver,
): Promise<ResolveResult> {
  let addresses: ResolvedAddress[]
  try {
    addresses = await resolver(hostname)
  } catch {
    return { ok: false, code: 'upstream_unreachable', reason: 'dns_failed' }
  }
  const first = addresses[0]
  if (!first) return { ok: false, code: 'upstream_unreachable', reason: 'dns_empty' }
  if (!addresses.every((a) => isPermittedAddress(a.address, devUpstreams))) {
    return { ok: false, code: 'host_not_allowed', reason: 'non_public_address' }
  }
  return { ok: true, address: first }
}
