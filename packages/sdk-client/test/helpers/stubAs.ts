import { createHash, randomBytes } from 'node:crypto'
import {
  base64url,
  calculateJwkThumbprint,
  DpopProofError,
  generateBoxKeyPair,
  signAttestation,
  verifyDpopProof,
  type AttestationDocument,
  type BoxKeyPair,
  type CredentialEnvelope,
} from '@dauth/protocol'
import type { ServerResponse } from 'node:http'
import { header, json, startStub, type RecordedRequest, type StubServer } from './http.ts'

export interface IssuedToken {
  clientId: string
  sub: string
  scope: string[]
  resource: string | undefined
  jkt: string | undefined
}

export type AttestationMode =
  | 'ok'
  | 'wrong-platform-key'
  | 'unknown-measurement'
  | 'stale'
  | 'wrong-nonce'
  | 'debug'
  | 'pk-swapped'

export interface StubAsOptions {
  /** Ask for a DPoP nonce once (400 use_dpop_nonce) and require it afterwards. Default true. */
  requireDpopNonce?: boolean
  expiresIn?: number
  /** Answer 404 on the RFC 8414 well-known URL (forces the OIDC fallback). */
  oidcOnly?: boolean
  /** Overrides the `iss` of authorization responses (`null`: omit it). */
  responseIss?: string | null
  /** Returns the scope to grant (default: all requested). */
  grant?: (requested: string[]) => string[]
  clients?: Record<string, string | null> // client_id → secret (null: public)
  initialAccessToken?: string
}

export interface StubAs {
  issuer: string
  server: StubServer
  tokens: Map<string, IssuedToken>
  nonce: string
  boxKey: BoxKeyPair
  boxKid: string
  platformJwk: JsonWebKey
  measurement: string
  attestationMode: AttestationMode
  envelopes: Map<string, CredentialEnvelope>
  /** Token requests' form bodies, in order. */
  tokenRequests(): URLSearchParams[]
  close(): Promise<void>
}

const MEASUREMENT = base64url.encode(createHash('sha384').update('worker bundle').digest())

export async function startStubAs(options: StubAsOptions = {}): Promise<StubAs> {
  const requireNonce = options.requireDpopNonce ?? true
  const tokens = new Map<string, IssuedToken>()
  const codes = new Map<
    string,
    {
      clientId: string
      redirectUri: string
      challenge: string
      scope: string[]
      resource: string | undefined
      jkt: string | undefined
    }
  >()
  const refreshTokens = new Map<
    string,
    { clientId: string; scope: string[]; resource: string | undefined }
  >()
  const clients = new Map<string, string | null>(
    Object.entries(options.clients ?? { 'cc-client': 'cc-secret', 'public-client': null }),
  )
  const nonce = 'as-nonce-1'
  const platform = await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])
  const rogue = await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])
  const platformJwk = await crypto.subtle.exportKey('jwk', platform.publicKey)
  const platformPublicJwk: JsonWebKey = { kty: 'OKP', crv: 'Ed25519', x: platformJwk.x! }
  const platformKid = await calculateJwkThumbprint(platformPublicJwk)
  const boxKey = generateBoxKeyPair()
  const attackerBox = generateBoxKeyPair()
  const envelopes = new Map<string, CredentialEnvelope>()
  const connections = new Map<
    string,
    { name: string; provider: string; sub: string; status: string; handle: string | null }
  >()
  let connectionCounter = 0
  let clientCounter = 0

  const state: StubAs = {} as StubAs

  const authenticateClient = (rec: RecordedRequest, form: URLSearchParams): string | undefined => {
    const basic = header(rec, 'authorization')
    if (basic?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(basic.slice(6), 'base64')
        .toString('utf8')
        .split(':')
        .map(decodeURIComponent)
      return id !== undefined && clients.get(id) === secret ? id : undefined
    }
    const id = form.get('client_id')
    if (id === null) return undefined
    const secret = clients.get(id)
    if (secret === null) return id
    return form.get('client_secret') === secret ? id : undefined
  }

  const checkProof = async (
    rec: RecordedRequest,
    res: ServerResponse,
    htm: string,
    htu: string,
    accessToken?: string,
    expectedJkt?: string,
  ): Promise<{ ok: true; jkt: string | undefined } | { ok: false }> => {
    const proof = header(rec, 'dpop')
    if (proof === undefined) return { ok: true, jkt: undefined }
    try {
      const verified = await verifyDpopProof(proof, {
        htm,
        htu,
        ...(accessToken !== undefined ? { accessToken } : {}),
        ...(expectedJkt !== undefined ? { expectedJkt } : {}),
        ...(requireNonce ? { nonce, requireNonce: true } : {}),
      })
      return { ok: true, jkt: verified.jkt }
    } catch (error) {
      if (error instanceof DpopProofError && error.code === 'ERR_DPOP_NONCE') {
        json(
          res,
          400,
          {
            error: 'use_dpop_nonce',
            error_description: 'Authorization server requires nonce in DPoP proof',
          },
          { 'dpop-nonce': nonce },
        )
      } else {
        json(res, 400, {
          error: 'invalid_dpop_proof',
          error_description: error instanceof DpopProofError ? error.code : 'bad proof',
        })
      }
      return { ok: false }
    }
  }

  const issue = (res: ServerResponse, token: IssuedToken, withRefresh: boolean): void => {
    const accessToken = `at-${randomBytes(12).toString('hex')}`
    tokens.set(accessToken, token)
    let refresh: string | undefined
    if (withRefresh) {
      refresh = `rt-${randomBytes(12).toString('hex')}`
      refreshTokens.set(refresh, {
        clientId: token.clientId,
        scope: token.scope,
        resource: token.resource,
      })
    }
    json(
      res,
      200,
      {
        access_token: accessToken,
        token_type: token.jkt !== undefined ? 'DPoP' : 'Bearer',
        expires_in: options.expiresIn ?? 300,
        scope: token.scope.join(' '),
        ...(refresh !== undefined ? { refresh_token: refresh } : {}),
      },
      { 'cache-control': 'no-store' },
    )
  }

  /** Checks a vault request's DPoP-bound token; returns the token or answers 401/403. */
  const vaultAuth = async (
    rec: RecordedRequest,
    res: ServerResponse,
    scope: string,
  ): Promise<IssuedToken | undefined> => {
    const authz = header(rec, 'authorization')
    const token = authz?.startsWith('DPoP ') ? tokens.get(authz.slice(5)) : undefined
    if (
      token === undefined ||
      token.resource !== `${state.issuer}/connections` ||
      token.jkt === undefined
    ) {
      json(
        res,
        401,
        { error: 'invalid_token' },
        { 'www-authenticate': 'DPoP error="invalid_token"' },
      )
      return undefined
    }
    const proof = await checkProof(
      rec,
      res,
      rec.method,
      `${state.issuer}${rec.path}`,
      authz!.slice(5),
      token.jkt,
    )
    if (!proof.ok) return undefined
    if (!token.scope.includes(scope)) {
      json(
        res,
        403,
        { error: 'insufficient_scope' },
        { 'www-authenticate': `DPoP error="insufficient_scope", scope="${scope}"` },
      )
      return undefined
    }
    return token
  }

  const server = await startStub(async (_req, res, rec) => {
    const issuer = state.issuer
    const metadata = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/register`,
      code_challenge_methods_supported: ['S256'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      authorization_response_iss_parameter_supported: true,
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    }
    if (rec.method === 'GET' && rec.path === '/.well-known/oauth-authorization-server') {
      if (options.oidcOnly) return json(res, 404, { error: 'not_found' })
      return json(res, 200, metadata)
    }
    if (rec.method === 'GET' && rec.path === '/.well-known/openid-configuration')
      return json(res, 200, metadata)
    if (rec.method === 'POST' && rec.path === '/register') {
      if (
        options.initialAccessToken !== undefined &&
        header(rec, 'authorization') !== `Bearer ${options.initialAccessToken}`
      ) {
        return json(res, 401, { error: 'invalid_token' })
      }
      const body = JSON.parse(rec.body) as Record<string, unknown>
      if (!Array.isArray(body.grant_types))
        return json(res, 400, {
          error: 'invalid_client_metadata',
          error_description: 'grant_types required',
        })
      clientCounter += 1
      const clientId = `dyn-${clientCounter}`
      const isPublic = body.token_endpoint_auth_method === 'none'
      const secret = isPublic ? null : `secret-${clientCounter}`
      clients.set(clientId, secret)
      return json(res, 201, {
        ...body,
        client_id: clientId,
        ...(secret !== null ? { client_secret: secret } : {}),
      })
    }
    if (rec.method === 'GET' && rec.path === '/authorize') {
      const q = rec.url.searchParams
      const code = `code-${randomBytes(8).toString('hex')}`
      codes.set(code, {
        clientId: q.get('client_id') ?? '',
        redirectUri: q.get('redirect_uri') ?? '',
        challenge: q.get('code_challenge') ?? '',
        scope: (q.get('scope') ?? '').split(' ').filter(Boolean),
        resource: q.get('resource') ?? undefined,
        jkt: q.get('dpop_jkt') ?? undefined,
      })
      const location = new URL(q.get('redirect_uri') ?? '')
      location.searchParams.set('code', code)
      location.searchParams.set('state', q.get('state') ?? '')
      const iss = options.responseIss === undefined ? issuer : options.responseIss
      if (iss !== null) location.searchParams.set('iss', iss)
      res.writeHead(302, { location: location.href }).end()
      return
    }
    if (rec.method === 'POST' && rec.path === '/token') {
      const form = new URLSearchParams(rec.body)
      const clientId = authenticateClient(rec, form)
      if (clientId === undefined) return json(res, 401, { error: 'invalid_client' })
      const proof = await checkProof(rec, res, 'POST', `${issuer}/token`)
      if (!proof.ok) return
      const resource = form.get('resource') ?? undefined
      const grant = form.get('grant_type')
      if (grant === 'client_credentials') {
        const requested = (form.get('scope') ?? '').split(' ').filter(Boolean)
        const scope = options.grant ? options.grant(requested) : requested
        return issue(res, { clientId, sub: clientId, scope, resource, jkt: proof.jkt }, false)
      }
      if (grant === 'authorization_code') {
        const code = codes.get(form.get('code') ?? '')
        codes.delete(form.get('code') ?? '')
        const verifier = form.get('code_verifier') ?? ''
        const challenge = createHash('sha256').update(verifier).digest('base64url')
        if (
          code === undefined ||
          code.clientId !== clientId ||
          code.redirectUri !== form.get('redirect_uri') ||
          code.challenge !== challenge ||
          (code.jkt !== undefined && code.jkt !== proof.jkt)
        ) {
          return json(res, 400, { error: 'invalid_grant' })
        }
        return issue(
          res,
          { clientId, sub: 'user-1', scope: code.scope, resource, jkt: proof.jkt },
          true,
        )
      }
      if (grant === 'refresh_token') {
        const rt = refreshTokens.get(form.get('refresh_token') ?? '')
        if (rt === undefined || rt.clientId !== clientId)
          return json(res, 400, { error: 'invalid_grant' })
        return issue(
          res,
          { clientId, sub: 'user-1', scope: rt.scope, resource, jkt: proof.jkt },
          false,
        )
      }
      return json(res, 400, { error: 'unsupported_grant_type' })
    }
    if (rec.method === 'POST' && rec.path === '/connections') {
      const token = await vaultAuth(rec, res, 'connections:write')
      if (token === undefined) return
      const body = JSON.parse(rec.body) as { name: string; provider: string }
      connectionCounter += 1
      const id = `conn-${connectionCounter}`
      connections.set(id, {
        name: body.name,
        provider: body.provider,
        sub: token.sub,
        status: 'pending',
        handle: null,
      })
      return json(res, 201, {
        connection_id: id,
        upload_nonce: `upload-nonce-${connectionCounter}`,
        expires_at: Math.floor(Date.now() / 1000) + 600,
        owner: { iss: issuer, sub: token.sub },
        status: 'pending',
      })
    }
    const put = /^\/connections\/([^/]+)\/credential$/.exec(rec.path)
    if (rec.method === 'PUT' && put) {
      const token = await vaultAuth(rec, res, 'connections:write')
      if (token === undefined) return
      const conn = connections.get(put[1]!)
      if (conn === undefined || conn.sub !== token.sub)
        return json(res, 404, { error: 'not_found' })
      const body = JSON.parse(rec.body) as { envelope: CredentialEnvelope }
      envelopes.set(put[1]!, body.envelope)
      conn.status = 'active'
      conn.handle = `handle-${put[1]!}`
      return json(res, 200, { handle: conn.handle, name: conn.name, status: 'active' })
    }
    if (rec.method === 'GET' && rec.path === '/connections') {
      const token = await vaultAuth(rec, res, 'connections:read')
      if (token === undefined) return
      return json(res, 200, {
        connections: [...connections.entries()]
          .filter(([, c]) => c.sub === token.sub)
          .map(([id, c]) => ({
            connection_id: id,
            name: c.name,
            provider: c.provider,
            status: c.status,
            handle: c.handle,
            created_at: '2026-01-01T00:00:00Z',
          })),
      })
    }
    const del = /^\/connections\/([^/]+)$/.exec(rec.path)
    if (rec.method === 'DELETE' && del) {
      const token = await vaultAuth(rec, res, 'connections:write')
      if (token === undefined) return
      const conn = connections.get(del[1]!)
      if (conn === undefined || conn.sub !== token.sub)
        return json(res, 404, { error: 'not_found' })
      conn.status = 'revoked'
      res.writeHead(204).end()
      return
    }
    if (rec.method === 'GET' && rec.path === '/enclave/attestation') {
      const requestNonce = rec.url.searchParams.get('nonce') ?? ''
      const mode = state.attestationMode
      const doc: AttestationDocument = {
        v: 1,
        measurement:
          mode === 'unknown-measurement'
            ? base64url.encode(createHash('sha384').update('other').digest())
            : MEASUREMENT,
        enclave_pk: base64url.encode(boxKey.publicKey),
        kid: state.boxKid,
        nonce: mode === 'wrong-nonce' ? base64url.encode(randomBytes(32)) : requestNonce,
        iat: Math.floor(Date.now() / 1000) - (mode === 'stale' ? 3600 : 0),
        debug: mode === 'debug',
      }
      let jws = await signAttestation(doc, {
        privateKey: mode === 'wrong-platform-key' ? rogue.privateKey : platform.privateKey,
        kid: platformKid,
      })
      if (mode === 'pk-swapped') {
        // A man in the middle replaces the enclave key with its own; it cannot re-sign.
        const [h, , s] = jws.split('.')
        const swapped = { ...doc, enclave_pk: base64url.encode(attackerBox.publicKey) }
        jws = `${h!}.${Buffer.from(JSON.stringify(swapped)).toString('base64url')}.${s!}`
      }
      return json(res, 200, { attestation: jws })
    }
    json(res, 404, { error: 'not_found' })
  })

  Object.assign(state, {
    issuer: server.url,
    server,
    tokens,
    nonce,
    boxKey,
    boxKid: 'box-key-1',
    platformJwk: platformPublicJwk,
    measurement: MEASUREMENT,
    attestationMode: 'ok',
    envelopes,
    tokenRequests: () =>
      server.requests.filter((r) => r.path === '/token').map((r) => new URLSearchParams(r.body)),
    close: () => server.close(),
  })
  return state
}
