// Unit tests of the pure parts: scope text, tool naming, failure → wire mapping, the core on Web Requests.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import {
  type AuthFailure,
  authFailureResponse,
  getContext,
  getProtectedResourceMetadataUrl,
  HmacDpopNonceSource,
  insufficientScopeText,
  MCPServer,
  MCPServerError,
  tool,
} from '../src/index.ts'

describe('insufficientScopeText', () => {
  test('exact documented text (Python list formatting)', () => {
    assert.equal(
      insufficientScopeText('delete_file', ['files:delete'], ['files:delete']),
      `Tool "delete_file" requires scopes: ['files:delete']. Missing: ['files:delete']`,
    )
    assert.equal(
      insufficientScopeText('x', ['a', 'b'], ['b']),
      `Tool "x" requires scopes: ['a', 'b']. Missing: ['b']`,
    )
    assert.equal(
      insufficientScopeText('q', ["it's"], ["it's"]),
      `Tool "q" requires scopes: ["it's"]. Missing: ["it's"]`,
    )
  })
})

describe('tool()', () => {
  test('names default to the handler name in snake_case', () => {
    function deleteFile() {
      return 'ok'
    }
    function getHTTPResource() {
      return 'ok'
    }
    assert.equal(tool({ description: 'd' }, deleteFile).name, 'delete_file')
    assert.equal(tool({ description: 'd' }, getHTTPResource).name, 'get_http_resource')
    assert.equal(tool({ name: 'custom', description: 'd' }, deleteFile).name, 'custom')
    assert.throws(() => tool({ description: 'd' }, () => 'anonymous'), { code: 'ERR_CONFIG' })
  })

  test('duplicate names are refused', () => {
    const server = new MCPServer('s', { resourceUrl: 'http://localhost:1/mcp' })
    server.collect(tool({ name: 'a', description: 'd' }, () => ''))
    assert.throws(() => server.collect(tool({ name: 'a', description: 'd' }, () => '')), {
      code: 'ERR_DUPLICATE_TOOL',
    })
  })
})

describe('getContext', () => {
  test('outside a tool call: ERR_NO_CONTEXT', () => {
    assert.throws(
      () => getContext(),
      (error: unknown) => error instanceof MCPServerError && error.code === 'ERR_NO_CONTEXT',
    )
  })
})

describe('getProtectedResourceMetadataUrl (RFC 9728 §3.1)', () => {
  test('path-aware', () => {
    assert.equal(
      getProtectedResourceMetadataUrl('http://localhost:4100/mcp'),
      'http://localhost:4100/.well-known/oauth-protected-resource/mcp',
    )
    assert.equal(
      getProtectedResourceMetadataUrl('https://example.com/'),
      'https://example.com/.well-known/oauth-protected-resource',
    )
    assert.equal(
      getProtectedResourceMetadataUrl('https://example.com/a/b', '/.well-known/x'),
      'https://example.com/.well-known/x/a/b',
    )
  })
})

describe('authFailureResponse', () => {
  const context = {
    resourceMetadataUrl: 'https://rs.example/.well-known/oauth-protected-resource/mcp',
    scopes: ['read'],
    dpopAccepted: true,
    dpopAlgorithms: ['ES256', 'EdDSA'],
    dpopNonce: 'n0nce',
  }
  const cases: [AuthFailure, number, string][] = [
    [{ reason: 'missing_token' }, 401, 'unauthorized'],
    [{ reason: 'malformed_authorization' }, 401, 'invalid_request'],
    [{ reason: 'invalid_token', scheme: 'Bearer', detail: 'signature' }, 401, 'invalid_token'],
    [{ reason: 'invalid_token', scheme: 'DPoP', detail: 'exp' }, 401, 'invalid_token'],
    [{ reason: 'dpop_bound_token_as_bearer' }, 401, 'invalid_token'],
    [{ reason: 'dpop_required' }, 401, 'invalid_token'],
    [{ reason: 'invalid_dpop_proof', detail: 'ERR_DPOP_ATH' }, 401, 'invalid_dpop_proof'],
    [{ reason: 'use_dpop_nonce' }, 401, 'use_dpop_nonce'],
    [{ reason: 'insufficient_scope', scheme: 'DPoP', scopes: ['a'] }, 403, 'insufficient_scope'],
    [{ reason: 'unavailable', detail: 'jwks' }, 503, 'temporarily_unavailable'],
  ]
  for (const [failure, status, error] of cases) {
    test(`${failure.reason}${'scheme' in failure ? `/${failure.scheme}` : ''} → ${status} ${error}`, () => {
      const answer = authFailureResponse(failure, context)
      assert.equal(answer.status, status)
      assert.equal(answer.body.error, error)
      const text = JSON.stringify(answer)
      // The log-only detail never reaches the wire.
      if ('detail' in failure) assert.ok(!text.includes(failure.detail), text)
      if (status === 401) assert.equal(answer.headers['dpop-nonce'], 'n0nce')
      else assert.equal(answer.headers['dpop-nonce'], undefined)
    })
  }

  test('403 over DPoP answers with the DPoP challenge only', () => {
    const answer = authFailureResponse(
      { reason: 'insufficient_scope', scheme: 'DPoP', scopes: ['a', 'b'] },
      context,
    )
    assert.equal(
      answer.headers['www-authenticate'],
      'DPoP error="insufficient_scope", error_description="Insufficient scope", algs="ES256 EdDSA", scope="a b", resource_metadata="https://rs.example/.well-known/oauth-protected-resource/mcp"',
    )
  })
})

describe('HmacDpopNonceSource', () => {
  test('current and previous window accepted, older refused, other secret refused', () => {
    let clock = 1_000_000
    const nonces = new HmacDpopNonceSource({
      secret: 'a'.repeat(32),
      windowSeconds: 60,
      now: () => clock,
    })
    const first = nonces.current()
    assert.ok(nonces.isValid(first))
    clock += 60_000
    assert.ok(nonces.isValid(first))
    clock += 60_000
    assert.equal(nonces.isValid(first), false)
    const other = new HmacDpopNonceSource({ secret: 'b'.repeat(32), now: () => clock })
    assert.equal(other.isValid(nonces.current()), false)
  })
})

describe('the core runs on Web Requests (no sockets)', () => {
  test('server.fetch answers PRM and 401 without a listener', async () => {
    const server = new MCPServer('web', {
      resourceUrl: 'https://mcp.example.com/mcp',
      authorization: { authorizationServers: ['https://as.example.com'] },
    })
    const prm = await server.fetch(
      new Request('https://mcp.example.com/.well-known/oauth-protected-resource/mcp'),
    )
    assert.equal(prm.status, 200)
    assert.deepEqual(await prm.json(), {
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: ['https://as.example.com'],
      scopes_supported: [],
      bearer_methods_supported: ['header'],
      dpop_signing_alg_values_supported: ['ES256', 'EdDSA'],
      dpop_bound_access_tokens_required: true,
    })
    const denied = await server.fetch(
      new Request('https://mcp.example.com/mcp', { method: 'POST', body: '{}' }),
    )
    assert.equal(denied.status, 401)
    const rebinding = await server.fetch(
      new Request('https://attacker.example/mcp', { method: 'POST', body: '{}' }),
    )
    assert.equal(rebinding.status, 403)
  })
})

describe('README documents every error code', () => {
  test('codes in README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    for (const code of [
      'ERR_CONFIG',
      'ERR_NO_CONTEXT',
      'ERR_DUPLICATE_TOOL',
      'ERR_DISCOVERY',
      'ERR_CONNECTION_UNAVAILABLE',
      'ERR_DISPATCH_NOT_CONFIGURED',
      'ERR_NOT_AUTHENTICATED',
      'ERR_TOKEN_EXCHANGE',
      'ERR_ENCLAVE_UNREACHABLE',
      'ERR_ENCLAVE_RESPONSE',
      'unauthorized',
      'invalid_request',
      'invalid_token',
      'invalid_dpop_proof',
      'use_dpop_nonce',
      'insufficient_scope',
      'temporarily_unavailable',
      'forbidden',
    ]) {
      assert.ok(readme.includes(`\`${code}\``), code)
    }
  })
})

describe('handler()', () => {
  test('without a resourceUrl: ERR_CONFIG at wiring time', () => {
    assert.throws(() => new MCPServer('s').handler(), { code: 'ERR_CONFIG' })
    assert.throws(() => new MCPServer('s', { resourceUrl: 'http://h/mcp?q' }), {
      code: 'ERR_CONFIG',
    })
    assert.equal(typeof new MCPServer('s', { resourceUrl: 'http://h/mcp' }).handler(), 'function')
  })
})
