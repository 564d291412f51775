/**
 * Stand-in authorization server for the RS bench: RFC 8414 metadata and a JWKS on loopback,
 * access tokens (RFC 9068 `at+jwt`, ES256) minted in-process with jose.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'

export interface StandInAs {
  issuer: string
  mint(claims: { aud: string; scope: string; jkt?: string; sub?: string }): Promise<string>
  close(): Promise<void>
}

export async function startStandInAs(): Promise<StandInAs> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const kid = 'bench-as-1'
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }
  let issuer = ''
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    let body: unknown
    if (path === '/.well-known/oauth-authorization-server') {
      body = {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        dpop_signing_alg_values_supported: ['ES256'],
      }
    } else if (path === '/jwks') {
      body = jwks
    }
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body ?? { error: 'not_found' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    async mint({ aud, scope, jkt, sub }) {
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({
        scope,
        client_id: 'bench-client',
        ...(jkt ? { cnf: { jkt } } : {}),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .setSubject(sub ?? 'bench-user')
        .setAudience(aud)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .setJti(randomUUID())
        .sign(privateKey)
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
