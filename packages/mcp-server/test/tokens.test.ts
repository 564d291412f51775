// THREATS.md "Tokens": every row over real HTTP, exact status, challenges and body.
import assert from 'node:assert/strict'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { JWK } from 'jose'
import { startFixture, type Fixture } from './fixtures.ts'
import {
  callMcp,
  type CallResult,
  mintToken,
  nowSeconds,
  rawJws,
  rawRequest,
  rpc,
  toolCall,
} from './helpers.ts'

function bearerInvalid(f: Fixture, error = 'invalid_token', description = 'Invalid access token') {
  return [
    {
      scheme: 'Bearer',
      params: { error, error_description: description, resource_metadata: f.metadataUrl },
    },
    { scheme: 'DPoP', params: { algs: 'ES256 EdDSA', resource_metadata: f.metadataUrl } },
  ]
}

function assertInvalidToken(f: Fixture, r: CallResult): void {
  assert.equal(r.status, 401)
  assert.deepEqual(
    r.challenges.map((c) => ({ scheme: c.scheme, params: c.params })),
    bearerInvalid(f),
  )
  assert.deepEqual(r.json, { error: 'invalid_token', error_description: 'Invalid access token' })
}

describe('tokens (Bearer allowed)', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: false })
  })
  after(() => f.close())

  test('a valid Bearer token reaches the tool', async () => {
    const token = await mintToken(f.as, f.url)
    const r = await callMcp(f.url, { token, body: toolCall('echo', { text: 'hello' }) })
    assert.equal(r.status, 200)
    assert.deepEqual(r.message?.result, { content: [{ type: 'text', text: 'hello' }] })
  })

  test('no token: 401 with absolute resource_metadata, no error code', async () => {
    const r = await callMcp(f.url, {})
    assert.equal(r.status, 401)
    assert.equal(
      r.headers.get('www-authenticate'),
      `Bearer resource_metadata="${f.metadataUrl}", DPoP algs="ES256 EdDSA", resource_metadata="${f.metadataUrl}"`,
    )
    assert.deepEqual(r.json, { error: 'unauthorized', error_description: 'Access token required' })
    assert.match(
      f.metadataUrl,
      /^http:\/\/localhost:\d+\/\.well-known\/oauth-protected-resource\/mcp$/,
    )
  })

  for (const header of ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'Bearer  ', 'Bearertoken']) {
    test(`malformed Authorization ${JSON.stringify(header)}: 401 invalid_request`, async () => {
      const r = await callMcp(f.url, { headers: { authorization: header } })
      assert.equal(r.status, 401)
      assert.deepEqual(
        r.challenges,
        bearerInvalid(f, 'invalid_request', 'Malformed Authorization header'),
      )
      assert.deepEqual(r.json, {
        error: 'invalid_request',
        error_description: 'Malformed Authorization header',
      })
    })
  }

  test('two Authorization headers: 401', async () => {
    const token = await mintToken(f.as, f.url)
    const r = await rawRequest(f.url, {
      headers: [
        ['host', new URL(f.url).host],
        ['content-type', 'application/json'],
        ['accept', 'application/json, text/event-stream'],
        ['authorization', `Bearer ${token}`],
        ['authorization', `Bearer ${token}`],
      ],
      body: JSON.stringify(toolCall('echo', { text: 'x' })),
    })
    assert.equal(r.status, 401)
    assert.equal(
      r.headers['www-authenticate'],
      `Bearer error="invalid_request", error_description="Malformed Authorization header", resource_metadata="${f.metadataUrl}", DPoP algs="ES256 EdDSA", resource_metadata="${f.metadataUrl}"`,
    )
  })

  test('bad signature (another key under the same kid): 401 invalid_token', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    assertInvalidToken(
      f,
      await callMcp(f.url, { token: await mintToken(f.as, f.url, { key: privateKey }) }),
    )
  })

  test('tampered payload: 401 invalid_token', async () => {
    const token = await mintToken(f.as, f.url)
    const [h, , s] = token.split('.')
    const forged = Buffer.from(
      JSON.stringify({
        iss: f.as.issuer,
        sub: 'admin',
        aud: f.url,
        iat: nowSeconds(),
        exp: nowSeconds() + 60,
        scope: 'read files:delete',
      }),
    ).toString('base64url')
    assertInvalidToken(f, await callMcp(f.url, { token: `${h}.${forged}.${s}` }))
  })

  test('unknown kid: 401 invalid_token', async () => {
    const token = await mintToken(f.as, f.url, { header: { kid: 'nobody' } })
    assertInvalidToken(f, await callMcp(f.url, { token }))
  })

  test('alg none: 401', async () => {
    const claims = {
      iss: f.as.issuer,
      sub: 'u',
      aud: f.url,
      iat: nowSeconds(),
      exp: nowSeconds() + 60,
      scope: 'read',
    }
    const token = `${rawJws({ alg: 'none', typ: 'at+jwt', kid: f.as.kid }, claims, () => Buffer.alloc(0))}`
    // rawJws leaves an empty signature part, exactly what an alg:none token looks like.
    assert.ok(token.endsWith('.'))
    const r = await callMcp(f.url, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(r.status, 401)
    const alsoSigned = rawJws({ alg: 'none', typ: 'at+jwt', kid: f.as.kid }, claims, () =>
      Buffer.from('x'),
    )
    assertInvalidToken(f, await callMcp(f.url, { token: alsoSigned }))
  })

  test('HS256 signed with the public key as the secret: 401 invalid_token', async () => {
    const claims = {
      iss: f.as.issuer,
      sub: 'u',
      aud: f.url,
      iat: nowSeconds(),
      exp: nowSeconds() + 60,
      scope: 'read',
    }
    const secret = JSON.stringify(f.as.publicJwk)
    const token = rawJws({ alg: 'HS256', typ: 'at+jwt', kid: f.as.kid }, claims, (input) =>
      createHmac('sha256', secret).update(input).digest(),
    )
    assertInvalidToken(f, await callMcp(f.url, { token }))
  })

  test('alg outside the allow-list (ES384): 401 invalid_token', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    f.as.extraKeys = [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'p384' }]
    const claims = {
      iss: f.as.issuer,
      sub: 'u',
      aud: f.url,
      iat: nowSeconds(),
      exp: nowSeconds() + 60,
      scope: 'read',
    }
    const { sign } = await import('node:crypto')
    const token = rawJws({ alg: 'ES384', typ: 'at+jwt', kid: 'p384' }, claims, (input) =>
      sign('sha384', input, { key: privateKey, dsaEncoding: 'ieee-p1363' }),
    )
    assertInvalidToken(f, await callMcp(f.url, { token }))
    f.as.extraKeys = []
  })

  test('expired: 401; within the 5 s leeway: accepted', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, {
        token: await mintToken(f.as, f.url, { claims: { exp: nowSeconds() - 10 } }),
      }),
    )
    const r = await callMcp(f.url, {
      token: await mintToken(f.as, f.url, { claims: { exp: nowSeconds() - 2 } }),
    })
    assert.equal(r.status, 200)
  })

  test('nbf in the future: 401', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, {
        token: await mintToken(f.as, f.url, { claims: { nbf: nowSeconds() + 60 } }),
      }),
    )
  })

  test('iat far in the future: 401', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, {
        token: await mintToken(f.as, f.url, { claims: { iat: nowSeconds() + 3600 } }),
      }),
    )
  })

  test('wrong iss (signed by the right key): 401', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, {
        token: await mintToken(f.as, f.url, { claims: { iss: 'http://evil.example' } }),
      }),
    )
  })

  test('aud of another resource (token passthrough): 401', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, { token: await mintToken(f.as, 'http://localhost:9999/mcp') }),
    )
    assertInvalidToken(
      f,
      await callMcp(f.url, { token: await mintToken(f.as, f.url, { claims: { aud: undefined } }) }),
    )
  })

  test('typ not at+jwt (an ID token): 401', async () => {
    assertInvalidToken(
      f,
      await callMcp(f.url, { token: await mintToken(f.as, f.url, { header: { typ: 'JWT' } }) }),
    )
    assertInvalidToken(
      f,
      await callMcp(f.url, { token: await mintToken(f.as, f.url, { header: { typ: undefined } }) }),
    )
  })

  test('a DPoP-bound token (cnf.jkt) sent as Bearer: 401 even where Bearer is allowed', async () => {
    for (const cnf of [
      { jkt: 'q1Wk4hB9a4nVh0QYkO6bR4sbnO8yP2d4l4kY9vC0nXw' },
      { 'x5t#S256': 'abc' },
    ]) {
      const token = await mintToken(f.as, f.url, { claims: { cnf } })
      const r = await callMcp(f.url, { token, scheme: 'Bearer' })
      assert.equal(r.status, 401)
      assert.deepEqual(
        r.challenges,
        bearerInvalid(f, 'invalid_token', 'DPoP-bound access token presented as Bearer'),
      )
    }
  })

  test('missing per-tool scope: exact tool error text', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const r = await callMcp(f.url, {
      token,
      body: toolCall('delete_file', { path: '/etc/passwd' }),
    })
    assert.equal(r.status, 200)
    assert.deepEqual(r.message?.result, {
      content: [
        {
          type: 'text',
          text: `Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']`,
        },
      ],
      isError: true,
    })
  })

  test('missing per-tool scope is refused before input validation', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const r = await callMcp(f.url, { token, body: toolCall('delete_file', {}) })
    assert.equal(
      r.message?.result.content[0].text,
      `Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']`,
    )
  })

  test('tools/list shows only the tools the caller may call', async () => {
    const read = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const r = await callMcp(f.url, { token: read, body: rpc('tools/list') })
    assert.deepEqual(
      r.message?.result.tools.map((t: { name: string }) => t.name),
      ['echo', 'public_info', 'context'],
    )
    const all = await mintToken(f.as, f.url, { claims: { scope: 'read files:delete' } })
    const r2 = await callMcp(f.url, { token: all, body: rpc('tools/list') })
    assert.deepEqual(
      r2.message?.result.tools.map((t: { name: string }) => t.name),
      ['echo', 'delete_file', 'public_info', 'context'],
    )
    const del = await callMcp(f.url, {
      token: all,
      body: toolCall('delete_file', { path: '/tmp/x' }),
    })
    assert.deepEqual(del.message?.result, { content: [{ type: 'text', text: 'deleted /tmp/x' }] })
  })

  test('tools see extra.authInfo and getContext().auth', async () => {
    const token = await mintToken(f.as, f.url, {
      claims: { scope: 'read', sub: 'alice', client_id: 'app' },
    })
    const r = await callMcp(f.url, { token, body: toolCall('context') })
    const seen = JSON.parse(r.message?.result.content[0].text)
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
    assert.deepEqual(seen.auth, { subject: 'alice', scopes: ['read'], claims })
    assert.deepEqual(seen.authInfo, {
      token,
      clientId: 'app',
      scopes: ['read'],
      expiresAt: claims.exp,
      extra: claims,
    })
  })

  test('protected resource metadata: exact, path-aware and root', async () => {
    const expected = {
      resource: f.url,
      authorization_servers: [f.as.issuer],
      scopes_supported: ['read', 'files:delete'],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: false,
    }
    for (const url of [
      f.metadataUrl,
      new URL('/.well-known/oauth-protected-resource', f.url).href,
    ]) {
      const response = await fetch(url)
      assert.equal(response.status, 200)
      assert.equal(response.headers.get('content-type'), 'application/json')
      assert.deepEqual(await response.json(), expected)
    }
    // Never derived from forwarded headers.
    const forwarded = await fetch(f.metadataUrl, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    })
    assert.equal(((await forwarded.json()) as { resource: string }).resource, f.url)
  })
})

describe('tokens: server-level scope, http-403, tools/list unfiltered', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({
      dpopRequired: false,
      requiredScopes: ['read'],
      insufficientScopeResponse: 'http-403',
      filterToolsList: false,
    })
  })
  after(() => f.close())

  test('no token: challenge carries scope="read"', async () => {
    const r = await callMcp(f.url, {})
    assert.equal(
      r.headers.get('www-authenticate'),
      `Bearer scope="read", resource_metadata="${f.metadataUrl}", DPoP algs="ES256 EdDSA", scope="read", resource_metadata="${f.metadataUrl}"`,
    )
  })

  test('missing server-level scope: 403 insufficient_scope with scope=', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'files:delete' } })
    const r = await callMcp(f.url, { token })
    assert.equal(r.status, 403)
    assert.equal(
      r.headers.get('www-authenticate'),
      `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="read", resource_metadata="${f.metadataUrl}"`,
    )
    assert.deepEqual(r.json, {
      error: 'insufficient_scope',
      error_description: 'Insufficient scope',
    })
  })

  test('missing per-tool scope with http-403: 403 naming the needed scopes', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const r = await callMcp(f.url, { token, body: toolCall('delete_file', { path: '/x' }) })
    assert.equal(r.status, 403)
    assert.deepEqual(r.challenges, [
      {
        scheme: 'Bearer',
        params: {
          error: 'insufficient_scope',
          error_description: 'Insufficient scope',
          scope: 'read files:delete',
          resource_metadata: f.metadataUrl,
        },
      },
    ])
  })

  test('filterToolsList: false lists every tool', async () => {
    const token = await mintToken(f.as, f.url, { claims: { scope: 'read' } })
    const r = await callMcp(f.url, { token, body: rpc('tools/list') })
    assert.deepEqual(
      r.message?.result.tools.map((t: { name: string }) => t.name),
      ['echo', 'delete_file', 'public_info', 'context'],
    )
  })
})

describe('failOpen', () => {
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: false, failOpen: true })
  })
  after(() => f.close())

  test('an invalid token calling a scoped tool is refused (401 invalid_token)', async () => {
    const token = await mintToken(f.as, 'http://localhost:1/other', {
      claims: { scope: 'read files:delete' },
    })
    const r = await callMcp(f.url, { token, body: toolCall('delete_file', { path: '/x' }) })
    assert.equal(r.status, 401)
    assert.deepEqual(r.challenges[0], {
      scheme: 'Bearer',
      params: {
        error: 'invalid_token',
        error_description: 'Invalid access token',
        scope: 'files:delete',
        resource_metadata: f.metadataUrl,
      },
    })
  })

  test('no token calling a scoped tool is refused (401)', async () => {
    const r = await callMcp(f.url, { body: toolCall('echo', { text: 'x' }) })
    assert.equal(r.status, 401)
  })

  test('a batch smuggling a scoped call is refused', async () => {
    const r = await callMcp(f.url, {
      body: [toolCall('public_info'), toolCall('delete_file', { path: '/x' })],
    })
    assert.equal(r.status, 401)
  })

  test('unscoped tools run with auth = null; tools/list shows only them', async () => {
    const token = await mintToken(f.as, f.url, { claims: { exp: nowSeconds() - 600 } })
    const r = await callMcp(f.url, { token, body: toolCall('public_info') })
    assert.equal(r.status, 200)
    assert.deepEqual(r.message?.result, { content: [{ type: 'text', text: 'anonymous' }] })
    const list = await callMcp(f.url, { body: rpc('tools/list') })
    assert.deepEqual(
      list.message?.result.tools.map((t: { name: string }) => t.name),
      ['public_info'],
    )
  })

  test('a valid token still authenticates', async () => {
    const token = await mintToken(f.as, f.url, { claims: { sub: 'bob' } })
    const r = await callMcp(f.url, { token, body: toolCall('public_info') })
    assert.deepEqual(r.message?.result, { content: [{ type: 'text', text: 'subject bob' }] })
  })
})

describe('onFailure hook', () => {
  const seen: unknown[] = []
  let f: Fixture
  before(async () => {
    f = await startFixture({ dpopRequired: false, onFailure: (failure) => seen.push(failure) })
  })
  after(() => f.close())

  test('receives the tagged failure with its log-only detail, never the token', async () => {
    const token = await mintToken(f.as, 'http://localhost:9/elsewhere')
    await callMcp(f.url, { token })
    await callMcp(f.url, {})
    assert.deepEqual(seen, [
      { reason: 'invalid_token', scheme: 'Bearer', detail: 'aud' },
      { reason: 'missing_token' },
    ])
    assert.ok(!JSON.stringify(seen).includes(token))
  })
})
