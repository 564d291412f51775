import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { isPublicAddress } from '@dauth/protocol'

export { isPublicAddress }

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
