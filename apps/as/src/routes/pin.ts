import type { IncomingMessage } from 'node:http'

/**
 * Pins the URL oidc-provider derives from a request to the issuer: the Host and
 * X-Forwarded-* headers a client sent are overwritten, never trusted (the provider runs
 * with `proxy = true` and reads only these).
 */
export function pinToIssuer(req: IncomingMessage, issuer: string): void {
  const url = new URL(issuer)
  req.headers.host = url.host
  req.headers['x-forwarded-host'] = url.host
  req.headers['x-forwarded-proto'] = url.protocol.slice(0, -1)
}
