import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, importJWK } from 'jose'
import type { JWK, CryptoKey as JoseKey } from 'jose'
import { MemoryReplayStore, verifyDpopProof } from '@dauth/protocol'
import type { CredentialEnvelope } from '@dauth/protocol'

/**
 * A tiny AS for the enclave's tests: RFC 8414 metadata, an ES256 JWKS, a token endpoint for
 * `dauth-enclave` (private_key_jwt + DPoP, with a DPoP nonce required first) and the
 * enclave-only envelope endpoint (wire.md "Connection vault").
 */
export interface StoredRecord {
  handle: string
  connection_id: string
  name: string
  provider: string
  owner: { iss: string; sub: string }
  upload_nonce: string
  envelope: CredentialEnvelope
}

export interface StubAs {
  issuer: string
  records: Map<string, StoredRecord>
  counts: { jwks: number; token: number; envelopes: number }
  /** mints an access token signed by the AS key (defaults: a valid dispatch token) */
  signToken(
    claims: Record<string, unknown>,
    options?: { kid?: string; typ?: string; key?: JoseKey; alg?: string },
  ): Promise<string>
  close(): Promise<void>
}

export interface EnclaveClientKey {
  privateJwk: JWK
  publicJwk: JWK
}

export async function makeEnclaveClientKey(): Promise<EnclaveClientKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'enclave-client-1', alg: 'ES256' }
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'enclave-client-1', alg: 'ES256' }
  return { privateJwk, publicJwk }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

export async function startStubAs(clientKey: EnclaveClientKey): Promise<StubAs> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = 'as-key-1'
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  const clientPublic = await importJWK(clientKey.publicJwk, 'ES256')
  const records = new Map<string, StoredRecord>()
  const counts = { jwks: 0, token: 0, envelopes: 0 }
  const replay = new MemoryReplayStore()
  const nonce = `n-${randomUUID()}`
  let issuer = ''

  const json = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer)
      if (req.method === 'GET' && url.pathname === '/.well-known/oauth-authorization-server') {
        return json(res, 200, {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          token_endpoint: `${issuer}/token`,
        })
      }
      if (req.method === 'GET' && url.pathname === '/jwks') {
        counts.jwks += 1
        return json(res, 200, { keys: [publicJwk] })
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        counts.token += 1
        const form = await readForm(req)
        const proof = req.headers.dpop
        if (typeof proof !== 'string') return json(res, 400, { error: 'invalid_dpop_proof' })
        let jkt: string
        try {
          const verified = await verifyDpopProof(proof, {
            htm: 'POST',
            htu: `${issuer}/token`,
            replayStore: replay,
          })
          jkt = verified.jkt
          if (verified.nonce !== nonce)
            return json(res, 400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': nonce })
        } catch {
          return json(res, 400, { error: 'invalid_dpop_proof' })
        }
        try {
          await jwtVerify(form.get('client_assertion') ?? '', clientPublic, {
            issuer: 'dauth-enclave',
            subject: 'dauth-enclave',
            audience: issuer,
          })
        } catch {
          return json(res, 401, { error: 'invalid_client' })
        }
        if (
          form.get('grant_type') !== 'client_credentials' ||
          form.get('resource') !== `${issuer}/enclave` ||
          form.get('scope') !== 'envelopes:read'
        ) {
          return json(res, 400, { error: 'invalid_request' })
        }
        const token = await new SignJWT({
          scope: 'envelopes:read',
          client_id: 'dauth-enclave',
          cnf: { jkt },
        })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
          .setIssuer(issuer)
          .setSubject('dauth-enclave')
          .setAudience(`${issuer}/enclave`)
          .setIssuedAt()
          .setExpirationTime('300s')
          .setJti(randomUUID())
          .sign(privateKey)
        return json(res, 200, { access_token: token, token_type: 'DPoP', expires_in: 300 })
      }
      const m = /^\/enclave\/envelopes\/([^/]+)$/.exec(url.pathname)
      if (req.method === 'GET' && m) {
        counts.envelopes += 1
        const auth = req.headers.authorization ?? ''
        const token = auth.startsWith('DPoP ') ? auth.slice(5) : ''
        try {
          const { payload } = await jwtVerify(token, publicKey, {
            issuer,
            audience: `${issuer}/enclave`,
            typ: 'at+jwt',
          })
          const cnf = payload.cnf as { jkt: string }
          await verifyDpopProof(String(req.headers.dpop ?? ''), {
            htm: 'GET',
            htu: `${issuer}${url.pathname}`,
            accessToken: token,
            expectedJkt: cnf.jkt,
            replayStore: replay,
          })
        } catch {
          return json(
            res,
            401,
            { error: 'invalid_token' },
            { 'www-authenticate': 'DPoP error="invalid_token"' },
          )
        }
        const record = records.get(decodeURIComponent(m[1] ?? ''))
        if (!record) return json(res, 404, { error: 'not_found' })
        return json(res, 200, record)
      }
      return json(res, 404, { error: 'not_found' })
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    issuer,
    records,
    counts,
    signToken: async (claims, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({
          alg: options.alg ?? 'ES256',
          typ: options.typ ?? 'at+jwt',
          kid: options.kid ?? kid,
        })
        .sign(options.key ?? privateKey),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
