import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import {
  authFetch,
  BearerAuth,
  ClientCredentialsAuth,
  InsufficientScopeError,
  MCPClient,
  toOAuthClientProvider,
  UnauthorizedError,
} from '@dauth/sdk-client'
import { decodeJwt, header } from './helpers/http.ts'
import { startStubAs, type StubAs } from './helpers/stubAs.ts'
import { startStubMcp, type StubMcp } from './helpers/stubMcp.ts'

const textOf = (result: unknown): string =>
  (result as { content: { text: string }[] }).content[0]!.text

describe('MCPClient with ClientCredentialsAuth + DPoP against a protected MCP server', () => {
  let as: StubAs
  let mcp: StubMcp
  before(async () => {
    as = await startStubAs()
    mcp = await startStubMcp(as, {
      requireNonce: true,
      toolScopes: { echo: ['read'], admin: ['read', 'admin'] },
    })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('discovers PRM and AS in spec order, gets a DPoP token for the resource, lists and calls tools', async () => {
    as.server.requests.length = 0
    mcp.server.requests.length = 0
    const auth = ClientCredentialsAuth({
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      dpop: true,
    })
    const client = await MCPClient.connect(mcp.url, { auth })
    const tools = await client.listTools()
    assert.deepEqual(
      tools.map((t) => t.name),
      ['echo', 'admin'],
    )
    const result = await client.callTool('echo', { text: 'hi' })
    assert.deepEqual(JSON.parse(textOf(result)), {
      tool: 'echo',
      args: { text: 'hi' },
      sub: 'cc-client',
    })
    await client.close()

    // Discovery order: unauthenticated POST → 401 → PRM from the challenge → AS metadata → token.
    const mcpLog = mcp.server.requests.map(
      (r) =>
        `${r.method} ${r.path} ${header(r, 'authorization')?.split(' ')[0] ?? '-'} ${r.headers.dpop === undefined ? '-' : ((decodeJwt(header(r, 'dpop')!).payload.nonce as string | undefined) ?? 'no-nonce')}`,
    )
    assert.deepEqual(mcpLog.slice(0, 4), [
      'POST /mcp - -',
      'GET /.well-known/oauth-protected-resource/mcp - -',
      'POST /mcp DPoP no-nonce',
      'POST /mcp DPoP rs-nonce-1',
    ])
    assert.deepEqual(
      as.server.requests.map((r) => `${r.method} ${r.path}`),
      ['GET /.well-known/oauth-authorization-server', 'POST /token', 'POST /token'],
    )
    assert.deepEqual(Object.fromEntries(as.tokenRequests()[1]!), {
      grant_type: 'client_credentials',
      resource: mcp.url,
      scope: 'read admin', // PRM scopes_supported: the challenge named no scope
    })
    // Every later MCP request carries the remembered RS nonce and a proof bound to the token.
    for (const r of mcp.server.requests.slice(3)) {
      const proof = decodeJwt(header(r, 'dpop')!).payload
      assert.equal(proof.nonce, 'rs-nonce-1')
      assert.equal(proof.htu, mcp.url)
      assert.equal(proof.htm, r.method)
    }
  })

  it('steps up on 403 insufficient_scope with the union of scopes', async () => {
    const auth = ClientCredentialsAuth({
      issuer: as.issuer,
      clientId: 'cc-client',
      clientSecret: 'cc-secret',
      resource: mcp.url,
      scope: 'read',
      dpop: true,
    })
    const client = await MCPClient.connect(mcp.url, { auth })
    as.server.requests.length = 0
    const result = await client.callTool('admin')
    assert.equal(JSON.parse(textOf(result)).tool, 'admin')
    const scopes = as.tokenRequests().map((f) => f.get('scope'))
    assert.deepEqual(scopes, ['read admin'])
    await client.close()
  })
})

describe('step-up retry bound', () => {
  let as: StubAs
  let mcp: StubMcp
  before(async () => {
    as = await startStubAs({ requireDpopNonce: false })
    // The AS never grants `admin`, so every step-up is answered by another 403.
    as.server.requests.length = 0
    mcp = await startStubMcp(as, { toolScopes: { echo: ['read'], admin: ['admin'] } })
  })
  after(async () => {
    await mcp.close()
    await as.close()
  })

  it('requests at most two step-ups, then throws InsufficientScopeError', async () => {
    const stub = await startStubAs({
      requireDpopNonce: false,
      grant: (requested) => requested.filter((s) => s !== 'admin'),
    })
    const server = await startStubMcp(stub, {
      toolScopes: { echo: ['read'], admin: ['admin', 'read'] },
    })
    try {
      const auth = ClientCredentialsAuth({
        issuer: stub.issuer,
        clientId: 'cc-client',
        clientSecret: 'cc-secret',
        resource: server.url,
        scope: 'read',
        dpop: true,
      })
      // A scope-widening AS response each time: the challenge names a new scope per attempt.
      const client = await MCPClient.connect(server.url, { auth })
      server.server.requests.length = 0
      stub.server.requests.length = 0
      await assert.rejects(client.callTool('admin'), (e: unknown) => {
        assert.ok(e instanceof InsufficientScopeError)
        assert.equal(e.code, 'ERR_INSUFFICIENT_SCOPE')
        assert.deepEqual(e.requiredScopes, ['read', 'admin'])
        return true
      })
      // 1 step-up: the union is requested once; asking again for the same set cannot help.
      assert.deepEqual(
        stub.tokenRequests().map((f) => f.get('scope')),
        ['read admin'],
      )
      assert.equal(server.server.requests.filter((r) => r.method === 'POST').length, 2)
      await client.close()
    } finally {
      await server.close()
      await stub.close()
    }
  })

  it('stops after two step-ups when each challenge names a new scope', async () => {
    let counter = 0
    const stub = await startStubAs({
      requireDpopNonce: false,
      grant: (requested) => requested.filter((s) => !s.startsWith('extra')),
    })
    // toolScopes are read per request: make the tool need a new scope every time it is called.
    const toolScopes: Record<string, string[]> = { echo: ['read'] }
    Object.defineProperty(toolScopes, 'grow', {
      enumerable: true,
      get: () => ['read', `extra${(counter += 1)}`],
    })
    const server = await startStubMcp(stub, { toolScopes })
    try {
      const auth = ClientCredentialsAuth({
        issuer: stub.issuer,
        clientId: 'cc-client',
        clientSecret: 'cc-secret',
        resource: server.url,
        scope: 'read',
      })
      const client = await MCPClient.connect(server.url, { auth })
      stub.server.requests.length = 0
      server.server.requests.length = 0
      await assert.rejects(client.callTool('grow'), InsufficientScopeError)
      const scopes = stub.tokenRequests().map((f) => f.get('scope'))
      assert.equal(scopes.length, 2)
      assert.match(scopes[0]!, /^read extra\d+$/)
      assert.match(scopes[1]!, /^read extra\d+ extra\d+$/)
      assert.equal(server.server.requests.filter((r) => r.method === 'POST').length, 3)
      await client.close()
    } finally {
      await server.close()
      await stub.close()
    }
  })

  it('steps up on a tool-level scope refusal (isError with the documented text)', async () => {
    const stub = await startStubAs({ requireDpopNonce: false })
    const server = await startStubMcp(stub, {
      toolScopes: { echo: ['read'], admin: ['read', 'admin'] },
      scopeRefusal: 'tool-error',
    })
    try {
      const auth = ClientCredentialsAuth({
        issuer: stub.issuer,
        clientId: 'cc-client',
        clientSecret: 'cc-secret',
        resource: server.url,
        scope: 'read',
        dpop: true,
      })
      const client = await MCPClient.connect(server.url, { auth })
      stub.server.requests.length = 0
      const result = await client.callTool('admin')
      assert.equal(result.isError, undefined)
      assert.deepEqual(
        stub.tokenRequests().map((f) => f.get('scope')),
        ['read admin'],
      )
      await client.close()
    } finally {
      await server.close()
      await stub.close()
    }
  })

  it('BearerAuth cannot step up: InsufficientScopeError at once', async () => {
    const token = 'static-token'
    as.tokens.set(token, {
      clientId: 'x',
      sub: 'x',
      scope: ['read'],
      resource: mcp.url,
      jkt: undefined,
    })
    const client = await MCPClient.connect(mcp.url, { auth: BearerAuth({ accessToken: token }) })
    mcp.server.requests.length = 0
    await assert.rejects(client.callTool('admin'), InsufficientScopeError)
    assert.equal(mcp.server.requests.filter((r) => r.method === 'POST').length, 1)
    await client.close()
  })

  it('a refused token ends in UnauthorizedError', async () => {
    await assert.rejects(
      MCPClient.connect(mcp.url, { auth: BearerAuth({ accessToken: 'unknown' }) }),
      UnauthorizedError,
    )
  })

  it('works as fetch and as authProvider for the official SDK transport', async () => {
    const token = 'static-token-2'
    as.tokens.set(token, {
      clientId: 'x',
      sub: 'x',
      scope: ['read'],
      resource: mcp.url,
      jkt: undefined,
    })
    for (const options of [
      { fetch: authFetch(BearerAuth({ accessToken: token })) },
      { authProvider: toOAuthClientProvider(BearerAuth({ accessToken: token })) },
    ]) {
      const client = new Client({ name: 't', version: '1' })
      await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), options))
      const result = await client.callTool({ name: 'echo', arguments: { text: 'x' } })
      assert.equal(JSON.parse(textOf(result)).sub, 'x')
      await client.close()
    }
  })
})
