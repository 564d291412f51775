import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  checkResourceAllowed,
  discoverAuthorizationServerMetadata,
  discoverProtectedResourceMetadata,
  DiscoveryError,
  getAuthorizationServerMetadataUrls,
  getProtectedResourceMetadataUrls,
  IssuerMismatchError,
  parseResourceChallenge,
  ResourceMismatchError,
} from '@dauth/sdk-client'
import { json, startStub, type StubServer } from './helpers/http.ts'

describe('discovery URL order (MCP authorization spec)', () => {
  it('PRM: the challenge URL alone when present', () => {
    assert.deepEqual(
      getProtectedResourceMetadataUrls('https://h.example/public/mcp', 'https://h.example/prm'),
      ['https://h.example/prm'],
    )
  })
  it('PRM: path-aware well-known URL, then the root one', () => {
    assert.deepEqual(getProtectedResourceMetadataUrls('https://h.example/public/mcp?x=1'), [
      'https://h.example/.well-known/oauth-protected-resource/public/mcp',
      'https://h.example/.well-known/oauth-protected-resource',
    ])
    assert.deepEqual(getProtectedResourceMetadataUrls('https://h.example/'), [
      'https://h.example/.well-known/oauth-protected-resource',
    ])
  })
  it('AS metadata with a path: RFC 8414 inserted, OIDC inserted, OIDC appended', () => {
    assert.deepEqual(getAuthorizationServerMetadataUrls('https://auth.example/tenant1'), [
      'https://auth.example/.well-known/oauth-authorization-server/tenant1',
      'https://auth.example/.well-known/openid-configuration/tenant1',
      'https://auth.example/tenant1/.well-known/openid-configuration',
    ])
  })
  it('AS metadata without a path: RFC 8414, then OIDC', () => {
    assert.deepEqual(getAuthorizationServerMetadataUrls('http://localhost:4000'), [
      'http://localhost:4000/.well-known/oauth-authorization-server',
      'http://localhost:4000/.well-known/openid-configuration',
    ])
  })
})

describe('parseResourceChallenge', () => {
  it('reads resource_metadata, scope and error', () => {
    assert.deepEqual(
      parseResourceChallenge(
        'Bearer resource_metadata="https://h/prm", scope="read write", error="insufficient_scope"',
      ),
      {
        scheme: 'Bearer',
        resourceMetadata: 'https://h/prm',
        scope: 'read write',
        error: 'insufficient_scope',
      },
    )
  })
  it('prefers the challenge with an error among several', () => {
    const c = parseResourceChallenge(
      'Bearer resource_metadata="https://h/prm", DPoP error="use_dpop_nonce", algs="ES256"',
    )
    assert.equal(c?.scheme, 'DPoP')
    assert.equal(c?.error, 'use_dpop_nonce')
    assert.equal(c?.resourceMetadata, 'https://h/prm')
  })
  it('ignores other schemes and empty headers', () => {
    assert.equal(parseResourceChallenge('Basic realm="x"'), undefined)
    assert.equal(parseResourceChallenge(null), undefined)
  })
})

describe('checkResourceAllowed', () => {
  it('accepts the exact URL and a parent path on the same origin', () => {
    checkResourceAllowed('http://localhost:4100/mcp', 'http://localhost:4100/mcp')
    checkResourceAllowed('http://localhost:4100/mcp', 'http://localhost:4100/')
  })
  it('refuses another origin or a sibling path', () => {
    assert.throws(
      () => checkResourceAllowed('http://localhost:4100/mcp', 'http://localhost:4101/mcp'),
      ResourceMismatchError,
    )
    assert.throws(
      () => checkResourceAllowed('http://localhost:4100/mcp', 'http://localhost:4100/mcpx'),
      ResourceMismatchError,
    )
    assert.throws(
      () => checkResourceAllowed('http://localhost:4100/mcp', 'http://localhost:4100/other'),
      ResourceMismatchError,
    )
  })
})

describe('discoverProtectedResourceMetadata (recorded fetch order)', () => {
  let stub: StubServer
  const served = new Map<string, unknown>()
  before(async () => {
    stub = await startStub((_req, res, rec) => {
      const body = served.get(rec.path)
      if (body === undefined) return json(res, 404, { error: 'not_found' })
      json(res, 200, body)
    })
  })
  after(() => stub.close())

  it('uses resource_metadata from the challenge and fetches nothing else', async () => {
    served.clear()
    served.set('/custom-prm', {
      resource: `${stub.url}/mcp`,
      authorization_servers: ['https://as.example'],
    })
    stub.requests.length = 0
    const { metadata, url } = await discoverProtectedResourceMetadata(`${stub.url}/mcp`, {
      wwwAuthenticate: `Bearer resource_metadata="${stub.url}/custom-prm"`,
    })
    assert.equal(url, `${stub.url}/custom-prm`)
    assert.deepEqual(metadata.authorization_servers, ['https://as.example'])
    assert.deepEqual(
      stub.requests.map((r) => r.path),
      ['/custom-prm'],
    )
  })

  it('falls back from the path-aware URL to the root URL', async () => {
    served.clear()
    served.set('/.well-known/oauth-protected-resource', { resource: `${stub.url}/mcp` })
    stub.requests.length = 0
    const { url } = await discoverProtectedResourceMetadata(`${stub.url}/mcp`, {
      wwwAuthenticate: 'Bearer',
    })
    assert.equal(url, `${stub.url}/.well-known/oauth-protected-resource`)
    assert.deepEqual(
      stub.requests.map((r) => r.path),
      ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource'],
    )
  })

  it('refuses metadata for another resource', async () => {
    served.clear()
    served.set('/.well-known/oauth-protected-resource/mcp', {
      resource: 'https://evil.example/mcp',
    })
    await assert.rejects(discoverProtectedResourceMetadata(`${stub.url}/mcp`), (e: unknown) => {
      assert.ok(e instanceof ResourceMismatchError)
      assert.equal(e.code, 'ERR_RESOURCE_MISMATCH')
      assert.equal(e.received, 'https://evil.example/mcp')
      return true
    })
  })

  it('reports every URL tried when none answers', async () => {
    served.clear()
    await assert.rejects(discoverProtectedResourceMetadata(`${stub.url}/a/mcp`), (e: unknown) => {
      assert.ok(e instanceof DiscoveryError)
      assert.equal(e.code, 'ERR_DISCOVERY_FAILED')
      assert.deepEqual(e.attempted, [
        `${stub.url}/.well-known/oauth-protected-resource/a/mcp`,
        `${stub.url}/.well-known/oauth-protected-resource`,
      ])
      return true
    })
  })

  it('AS metadata: tries the three path-aware URLs in order', async () => {
    served.clear()
    served.set('/tenant1/.well-known/openid-configuration', {
      issuer: `${stub.url}/tenant1`,
      token_endpoint: `${stub.url}/t`,
    })
    stub.requests.length = 0
    const metadata = await discoverAuthorizationServerMetadata(`${stub.url}/tenant1`)
    assert.equal(metadata.token_endpoint, `${stub.url}/t`)
    assert.deepEqual(
      stub.requests.map((r) => r.path),
      [
        '/.well-known/oauth-authorization-server/tenant1',
        '/.well-known/openid-configuration/tenant1',
        '/tenant1/.well-known/openid-configuration',
      ],
    )
  })

  it('AS metadata: refuses an issuer that differs from the one asked for (RFC 8414 §3.3)', async () => {
    served.clear()
    served.set('/.well-known/oauth-authorization-server', { issuer: 'https://other.example' })
    await assert.rejects(discoverAuthorizationServerMetadata(stub.url), (e: unknown) => {
      assert.ok(e instanceof IssuerMismatchError)
      assert.equal(e.code, 'ERR_ISSUER_MISMATCH')
      return true
    })
  })
})
