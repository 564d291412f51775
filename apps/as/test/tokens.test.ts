import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ALICE,
  MCP_RESOURCE,
  clientCredentialsToken,
  createActiveConnection,
  createDpopProof,
  decode,
  generateDpopKeyPair,
  startTestServer,
  tokenRequest,
  type TestServer,
} from './helpers.ts'

describe('metadata and client credentials', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  test('RFC 8414 and OIDC discovery documents name the issuer and the /oauth endpoints', async () => {
    for (const path of [
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ]) {
      const response = await fetch(`${server.url}${path}`)
      assert.equal(response.status, 200)
      const metadata = (await response.json()) as Record<string, unknown>
      assert.equal(metadata.issuer, server.url)
      assert.equal(metadata.token_endpoint, `${server.url}/oauth/token`)
      assert.equal(metadata.registration_endpoint, `${server.url}/oauth/register`)
      assert.equal(metadata.jwks_uri, `${server.url}/oauth/jwks`)
      assert.equal(metadata.authorization_endpoint, `${server.url}/oauth/authorize`)
      assert.deepEqual(metadata.dpop_signing_alg_values_supported, ['ES256', 'EdDSA'])
      assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'])
      const grants = metadata.grant_types_supported as string[]
      assert.ok(grants.includes('client_credentials'))
      assert.ok(grants.includes('urn:ietf:params:oauth:grant-type:token-exchange'))
    }
  })

  test('healthz answers 200 and unknown paths 404 JSON', async () => {
    const health = await fetch(`${server.url}/healthz`)
    assert.equal(health.status, 200)
    assert.deepEqual(await health.json(), { status: 'ok' })
    const missing = await fetch(`${server.url}/nope`)
    assert.equal(missing.status, 404)
    assert.deepEqual(await missing.json(), { error: 'not_found', error_description: 'Not found' })
  })

  test('client_credentials + DPoP gives an RFC 9068 JWT for exactly the requested resource', async () => {
    const key = await generateDpopKeyPair()
    const token = await clientCredentialsToken(server, ALICE, key, MCP_RESOURCE, 'read')
    const { header, claims } = decode(token)
    assert.equal(header.alg, 'ES256')
    assert.equal(header.typ, 'at+jwt')
    assert.equal(typeof header.kid, 'string')
    const jwks = (await (await fetch(`${server.url}/oauth/jwks`)).json()) as {
      keys: { kid: string; d?: string }[]
    }
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [header.kid],
    )
    assert.equal(jwks.keys[0]?.d, undefined)
    assert.equal(claims.iss, server.url)
    assert.equal(claims.aud, MCP_RESOURCE)
    assert.equal(claims.sub, ALICE.client_id)
    assert.equal(claims.client_id, ALICE.client_id)
    assert.equal(claims.scope, 'read')
    assert.deepEqual(claims.cnf, { jkt: key.jkt })
    assert.equal(claims.connections, undefined)
    assert.equal((claims.exp as number) - (claims.iat as number), 300)
    assert.equal(typeof claims.jti, 'string')
  })

  test('the token carries the owner active connections the resource declares', async () => {
    const key = await generateDpopKeyPair()
    const { handle } = await createActiveConnection(server, ALICE, key, 'demo')
    await createActiveConnection(server, ALICE, key, 'undeclared')
    const token = await clientCredentialsToken(server, ALICE, key, MCP_RESOURCE, 'read api:call')
    const { claims } = decode(token)
    assert.deepEqual(claims.connections, { demo: handle })
    assert.equal(claims.scope, 'read api:call')
    assert.match(handle, /^hdl_[A-Za-z0-9_-]{43}$/)
  })

  test('refuses a request without DPoP (clients are DPoP-bound by default)', async () => {
    const res = await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' },
      { client: ALICE },
    )
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_grant',
      error_description:
        'this client is registered for DPoP-bound tokens: send a DPoP proof (RFC 9449), or register with dpop_bound_access_tokens false',
    })
  })

  test('refuses a replayed DPoP proof at the token endpoint', async () => {
    const key = await generateDpopKeyPair()
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
    const first = await tokenRequest(server, params, { client: ALICE, dpop: proof })
    assert.equal(first.status, 200)
    const replay = await tokenRequest(server, params, { client: ALICE, dpop: proof })
    assert.equal(replay.status, 400)
    assert.deepEqual(replay.body, {
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    })
  })

  test('refuses concurrent uses of one proof: exactly one succeeds', async () => {
    const key = await generateDpopKeyPair()
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const params = { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' }
    const results = await Promise.all(
      Array.from({ length: 5 }, () => tokenRequest(server, params, { client: ALICE, dpop: proof })),
    )
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400, 400, 400])
  })

  test('refuses a missing resource and an unknown resource with invalid_target', async () => {
    const key = await generateDpopKeyPair()
    for (const params of [
      { grant_type: 'client_credentials', scope: 'read' },
      { grant_type: 'client_credentials', scope: 'read', resource: 'http://localhost:4999/other' },
    ]) {
      const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
      const res = await tokenRequest(server, params, { client: ALICE, dpop: proof })
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_target')
    }
  })

  test('refuses a scope the resource does not accept', async () => {
    const key = await generateDpopKeyPair()
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const res = await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read connections:write' },
      { client: ALICE, dpop: proof },
    )
    assert.equal(res.status, 400)
    assert.deepEqual(res.body, {
      error: 'invalid_scope',
      error_description: 'requested scope is not accepted by the resource',
      scope: 'connections:write',
    })
  })

  test('refuses the internal enclave resource to any client but dauth-enclave', async () => {
    const key = await generateDpopKeyPair()
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const res = await tokenRequest(
      server,
      {
        grant_type: 'client_credentials',
        resource: `${server.url}/enclave`,
        scope: 'envelopes:read',
      },
      { client: ALICE, dpop: proof },
    )
    assert.equal(res.status, 400)
    assert.equal(res.body.error, 'invalid_target')
  })

  test('refuses a wrong client secret', async () => {
    const key = await generateDpopKeyPair()
    const proof = await createDpopProof(key, { htm: 'POST', htu: server.tokenEndpoint })
    const res = await tokenRequest(
      server,
      { grant_type: 'client_credentials', resource: MCP_RESOURCE, scope: 'read' },
      { client: { client_id: ALICE.client_id, client_secret: 'wrong' }, dpop: proof },
    )
    assert.equal(res.status, 401)
    assert.equal(res.body.error, 'invalid_client')
  })
})
