import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { generateDpopKeyPair, normalizeHtu } from '@dauth/protocol'
import {
  AuthorizationServerError,
  ClientCredentialsAuth,
  ConfigurationError,
} from '@dauth/sdk-client'
import { decodeJwt, header } from './helpers/http.ts'
import { startStubAs, type StubAs } from './helpers/stubAs.ts'

describe('ClientCredentialsAuth', () => {
  let as: StubAs
  before(async () => {
    as = await startStubAs({ expiresIn: 300 })
  })
  after(() => as.close())

  it('requests a DPoP-bound token with resource and scope, retrying once with the AS nonce', async () => {
    as.server.requests.length = 0
    const key = await generateDpopKeyPair()
    const auth = ClientCredentialsAuth({
      issuer: as.issuer,
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      resource: 'http://localhost:4100/mcp',
      scope: ['read', 'api:call'],
      dpop: key,
    })
    const token = await auth.getAccessToken()
    assert.equal(token?.type, 'DPoP')
    assert.equal(as.tokens.get(token.value)?.jkt, key.jkt)

    const tokenRequests = as.server.requests.filter((r) => r.path === '/token')
    assert.deepEqual(
      as.server.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /.well-known/oauth-authorization-server', 'POST /token', 'POST /token'],
    )
    for (const request of tokenRequests) {
      assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), {
        grant_type: 'client_credentials',
        resource: 'http://localhost:4100/mcp',
        scope: 'read api:call',
      })
      assert.equal(
        header(request, 'authorization'),
        `Basic ${Buffer.from('cc-client:cc-secret').toString('base64')}`,
      )
      assert.equal(header(request, 'content-type'), 'application/x-www-form-urlencoded')
    }
    const first = decodeJwt(header(tokenRequests[0]!, 'dpop')!)
    const second = decodeJwt(header(tokenRequests[1]!, 'dpop')!)
    assert.equal(first.header.typ, 'dpop+jwt')
    assert.equal(first.payload.htm, 'POST')
    assert.equal(first.payload.htu, normalizeHtu(`${as.issuer}/token`))
    assert.equal(first.payload.nonce, undefined)
    assert.equal(first.payload.ath, undefined)
    assert.equal(second.payload.nonce, as.nonce)
    assert.notEqual(second.payload.jti, first.payload.jti)
  })

  it('caches the token until shortly before expiry (injected clock)', async () => {
    let now = 1_000_000
    const auth = ClientCredentialsAuth({
      tokenEndpoint: `${as.issuer}/token`,
      issuer: as.issuer,
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      resource: 'http://localhost:4100/mcp',
      dpop: true,
      now: () => now,
    })
    as.server.requests.length = 0
    const a = await auth.getAccessToken()
    const b = await auth.getAccessToken()
    assert.equal(a?.value, b?.value)
    now += 300 - 31
    assert.equal((await auth.getAccessToken())?.value, a?.value)
    now += 1 // within the 30 s skew
    const c = await auth.getAccessToken()
    assert.notEqual(c?.value, a?.value)
    // No discovery (tokenEndpoint given); the nonce is remembered, so one request per token.
    assert.deepEqual(
      as.server.requests.map((r) => `${r.method} ${r.path}`),
      ['POST /token', 'POST /token', 'POST /token'],
    )
  })

  it('shares one token request between concurrent callers', async () => {
    const auth = ClientCredentialsAuth({
      tokenEndpoint: `${as.issuer}/token`,
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      resource: 'r:1',
    })
    as.server.requests.length = 0
    const [a, b] = await Promise.all([auth.getAccessToken(), auth.getAccessToken()])
    assert.equal(a?.value, b?.value)
    assert.equal(a?.type, 'Bearer')
    assert.equal(as.server.requests.length, 1)
  })

  it('sends client_secret_post when asked', async () => {
    const auth = ClientCredentialsAuth({
      tokenEndpoint: `${as.issuer}/token`,
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      tokenEndpointAuthMethod: 'client_secret_post',
      resource: 'r:1',
    })
    as.server.requests.length = 0
    await auth.getAccessToken()
    const request = as.server.requests[0]!
    assert.equal(header(request, 'authorization'), undefined)
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), {
      grant_type: 'client_credentials',
      resource: 'r:1',
      client_id: 'cc-client',
      client_secret: 'cc-secret',
    })
  })

  it('surfaces the OAuth error of the AS', async () => {
    const auth = ClientCredentialsAuth({
      issuer: as.issuer,
      clientId: 'cc-client',
      clientSecret: 'wrong',
      resource: 'r:1',
    })
    await assert.rejects(auth.getAccessToken(), (e: unknown) => {
      assert.ok(e instanceof AuthorizationServerError)
      assert.equal(e.code, 'ERR_AS_ERROR')
      assert.equal(e.error, 'invalid_client')
      assert.equal(e.status, 401)
      assert.ok(!e.message.includes('wrong'))
      return true
    })
  })

  it('signs a private_key_jwt client assertion', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])
    const jwk = { ...(await crypto.subtle.exportKey('jwk', pair.privateKey)), kid: 'k1' }
    const captured: URLSearchParams[] = []
    const auth = ClientCredentialsAuth({
      issuer: 'https://as.example',
      tokenEndpoint: 'https://as.example/token',
      clientId: 'jwt-client',
      privateKeyJwk: jwk,
      resource: 'r:1',
      now: () => 1_700_000_000,
      fetch: (_url, init) => {
        captured.push(new URLSearchParams(init?.body as string))
        return Promise.resolve(
          Response.json({ access_token: 'x', token_type: 'Bearer', expires_in: 60 }),
        )
      },
    })
    await auth.getAccessToken()
    const form = captured[0]!
    assert.equal(
      form.get('client_assertion_type'),
      'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    )
    assert.equal(form.get('client_id'), 'jwt-client')
    const assertion = form.get('client_assertion')!
    const { header: h, payload } = decodeJwt(assertion)
    assert.deepEqual(h, { alg: 'ES256', typ: 'JWT', kid: 'k1' })
    assert.equal(payload.iss, 'jwt-client')
    assert.equal(payload.sub, 'jwt-client')
    assert.equal(payload.aud, 'https://as.example')
    assert.equal(payload.iat, 1_700_000_000)
    assert.equal(payload.exp, 1_700_000_060)
    const [hh, pp, ss] = assertion.split('.')
    const ok = await crypto.subtle.verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      pair.publicKey,
      Buffer.from(ss!, 'base64url'),
      new TextEncoder().encode(`${hh!}.${pp!}`),
    )
    assert.equal(ok, true)
  })

  it('refuses ambiguous client credentials', () => {
    assert.throws(() => ClientCredentialsAuth({ clientId: 'x', resource: 'r' }), ConfigurationError)
    assert.throws(
      () =>
        ClientCredentialsAuth({
          clientId: 'x',
          clientSecret: 's',
          privateKeyJwk: {},
          resource: 'r',
        }),
      ConfigurationError,
    )
  })

  it('form-urlencodes the client id and secret before Basic encoding (RFC 6749 §2.3.1)', async () => {
    let authz: string | null = null
    const auth = ClientCredentialsAuth({
      tokenEndpoint: 'https://as.example/token',
      clientId: 'a b:c',
      clientSecret: 's%t',
      resource: 'r',
      fetch: (_u, init) => {
        authz = new Headers(init?.headers).get('authorization')
        return Promise.resolve(Response.json({ access_token: 'x', token_type: 'bearer' }))
      },
    })
    await auth.getAccessToken()
    assert.equal(authz, `Basic ${Buffer.from('a+b%3Ac:s%25t').toString('base64')}`)
  })
})
